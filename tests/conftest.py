"""Shared fixtures: real PostgreSQL for every test that touches a database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.db.embedded import scratch_server
from server.settings import get_settings
from tests.pg import drop_database, durable_no_more, migrated_template, scratch_database

# Settings the developer's shell or .env might carry must not leak into tests.
_KEEL_ENV = (
    "DATABASE_URL",
    "KEEL_DIRECT_DATABASE_URL",
    "KEEL_DATA_DIR",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "KEEL_MODEL",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LANGFUSE_BASE_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in _KEEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env, and .keel/ lands in the test's own folder
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A superuser URL: KEEL_TEST_DATABASE_URL if set, else one embedded server for the whole run.

    Its data lives outside pytest's temp tree, which concurrent pytest sessions prune."""
    given = os.environ.get("KEEL_TEST_DATABASE_URL")
    with scratch_server(given, "keel-test-pg-") as url:
        if given is None:
            durable_no_more(url)
        yield url


@pytest.fixture(scope="session")
def migrated_template_db(pg_admin_url: str) -> Iterator[str]:
    name = migrated_template(pg_admin_url)
    yield name
    drop_database(pg_admin_url, name)


@pytest.fixture
def database_url(pg_admin_url: str, migrated_template_db: str) -> Iterator[str]:
    """A fresh database of this test's own, with keel's migrations and the checkpoint schema."""
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        yield url


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (for migration tests)."""
    with scratch_database(pg_admin_url) as url:
        yield url
