"""A keel server (a real `keel serve` process on loopback) serving sample_graphs.py, for the run tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.pg import scratch_database
from tests.process import KeelProcess
from tests.server.runs.sample_graphs import SIDE_EFFECT_TABLES

SAMPLES = Path(__file__).with_name("sample_graphs.py")
CONFIG = {
    "graphs": {
        "echo": "./sample_graphs.py:echo",
        "steps": "./sample_graphs.py:steps",
        "ask": "./sample_graphs.py:compiled_ask",
    }
}


def create_side_effect_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SIDE_EFFECT_TABLES.encode())


def write_config(folder: Path) -> Path:
    shutil.copy(SAMPLES, folder / "sample_graphs.py")
    path = folder / "langgraph.json"
    path.write_text(json.dumps(CONFIG))
    return path


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
async def client(served: KeelProcess) -> AsyncIterator[LangGraphClient]:
    """The official SDK client, pointed at `served`."""
    async with get_client(url=served.base_url) as sdk:
        yield sdk
