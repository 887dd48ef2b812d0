"""A keel server (a real `keel serve` process on loopback) serving sample_graphs.py, for the run tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from server.db.pool import Pool, create_pool
from server.settings import DatabaseSettings
from tests.pg import scratch_database
from tests.process import KeelProcess
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import create_side_effect_tables, write_config


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    """One server per test module, on a database of its own; tests use fresh thread ids."""
    folder = tmp_path_factory.mktemp("served")
    config = write_config(folder)
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        create_side_effect_tables(url)
        keel = KeelProcess(
            ["serve"],
            env={"DATABASE_URL": url, "KEEL_CONFIG": str(config), "KEEL_RUN_POLL": "0.5"},
            cwd=folder,
            log=folder / "keel.log",
        )
        keel.wait_ready()
        yield keel
        keel.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """A keel connection pool on this test's own database."""
    pool = create_pool(database_url, DatabaseSettings())
    await pool.open(wait=True)
    yield pool
    await pool.close()


@pytest.fixture
async def client(served: KeelProcess) -> AsyncIterator[LangGraphClient]:
    """The official SDK client, pointed at `served`."""
    async with get_client(url=served.base_url) as sdk:
        yield sdk


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    """keel processes on a fresh database; whatever the test leaves running is killed."""
    nodes = Cluster(tmp_path, database_url)
    yield nodes
    nodes.stop_all()
