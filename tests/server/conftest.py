"""Shared server fixtures: keel on loopback (a real `keel serve` process, real PostgreSQL) with a given langgraph.json.

def test_x(keel_server, tmp_path):
    config = write_graphs(tmp_path, SOURCE, {"chat": "./api_graphs.py:chat"})
    server = keel_server(config)
    client = get_client(url=server.url)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from server.graph_loading import LoadedGraphs, load_graphs
from tests.process import KeelProcess


@dataclass(frozen=True)
class KeelServer:
    url: str
    config: Path
    database_url: str


def write_graphs(folder: Path, source: str, graphs: dict[str, str], *, file: str = "api_graphs.py") -> Path:
    """Write `source` as `folder/file` and a langgraph.json naming `graphs`; returns the json's path."""
    (folder / file).write_text(source)
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": graphs}))
    return config


@asynccontextmanager
async def graphs_on(database_url: str, config: Path) -> AsyncIterator[LoadedGraphs]:
    """The graphs of `config` bound to a checkpointer on `database_url`, for driving them in-process
    (the same checkpoints the server reads)."""
    async with AsyncPostgresSaver.from_conn_string(database_url) as saver:
        yield load_graphs(config).with_checkpointer(saver)


async def checkpoint_rows(database_url: str, thread_id: str) -> int:
    """Rows of a thread in LangGraph's checkpoints, checkpoint_blobs and checkpoint_writes."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            """SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = %(t)s)
                    + (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %(t)s)
                    + (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s)""",
            {"t": thread_id},
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def keel_server(database_url: str) -> Iterator[Callable[..., KeelServer]]:
    """A factory: `keel_server(config_path, workers=0)` starts `keel serve` (API only when workers=0) as a
    child process on a free loopback port and returns once it answers; every server is stopped at teardown.
    The child inherits this process's environment, so `monkeypatch.setenv` before the call configures it."""
    started: list[KeelProcess] = []

    def start(config: Path, *, workers: int = 0) -> KeelServer:
        args = ["serve", "--no-worker"] if workers == 0 else ["serve"]
        env = {"DATABASE_URL": database_url, "KEEL_CONFIG": str(config), "KEEL_WORKERS": str(max(workers, 1))}
        keel = KeelProcess(args, env=env, cwd=config.parent, log=config.parent / f"keel-{len(started)}.log")
        started.append(keel)
        keel.wait_ready()
        return KeelServer(keel.base_url, config, database_url)

    yield start
    for keel in started:
        keel.stop()
