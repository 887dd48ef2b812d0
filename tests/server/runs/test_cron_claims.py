"""The cron scheduler's claim, in-process against real PostgreSQL: schedulers racing over the same due cron
(each with a pool of its own, as separate keel processes have) create exactly one run per due time, and the
cron's next due time is persisted, so a restarted scheduler goes on from it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.crons import store as crons
from server.crons.request_body import CronCreate
from server.db.pool import Pool, create_pool
from server.graph_loading import load_graphs
from server.runs import store
from server.runs.notify import Notifier
from server.services.assistants import register_system_assistants
from server.services.crons import CronService, fire_due
from server.services.runs import RunService
from server.settings import DatabaseSettings, RunSettings
from tests.server.runs.serving import write_config

SCHEDULERS = 4


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[CronService, list[RunService]]]:
    graphs = load_graphs(write_config(tmp_path))
    pools: list[Pool] = [create_pool(database_url, DatabaseSettings()) for _ in range(SCHEDULERS)]
    for pool in pools:
        await pool.open(wait=True)
    await register_system_assistants(pools[0], graphs)
    notifier = Notifier(database_url)  # not started: creating a run only sends a NOTIFY
    yield (
        CronService(pools[0], graphs),
        [RunService(pool, graphs, notifier, None, RunSettings()) for pool in pools],
    )
    for pool in pools:
        await pool.close()


async def make_due(pool: Pool, cron_id: uuid.UUID) -> dt.datetime:
    """Set the cron's next due time to a moment ago; returns it."""
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with pool.connection() as conn:
        await crons.update_cron(conn, cron_id, {"next_run_at": due})
    return due


async def test_schedulers_racing_over_a_due_cron_create_one_run_per_due_time(services) -> None:
    cron_service, schedulers = services
    pool = cron_service.pool
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        await store.insert_thread(conn, thread_id, {})
    body = CronCreate(assistant_id="echo", schedule="0 0 1 1 *", input={"messages": []}, metadata={"from": "cron"})
    cron = await cron_service.create(body, thread_id)
    assert cron["next_run_at"] > dt.datetime.now(dt.UTC)  # not due: the schedulers find nothing
    assert sum(await asyncio.gather(*(fire_due(runs) for runs in schedulers))) == 0

    for due_times in range(1, 4):
        due = await make_due(pool, cron["cron_id"])
        fired = await asyncio.gather(*(fire_due(runs) for runs in schedulers))
        assert sum(fired) == 1, fired
        async with pool.connection() as conn:
            runs = await store.list_runs(conn, thread_id, limit=100, offset=0, status=None)
            moved = await crons.get_cron(conn, cron["cron_id"])
        assert len(runs) == due_times
        assert runs[0]["metadata"] == {"from": "cron"} and runs[0]["kwargs"]["input"] == {"messages": []}
        assert moved["next_run_at"] > due  # persisted: any scheduler, restarted or not, goes on from it


async def test_a_stateless_cron_gets_a_new_thread_per_run_and_a_disabled_one_does_not_fire(services) -> None:
    cron_service, schedulers = services
    pool = cron_service.pool
    cron = await cron_service.create(CronCreate(assistant_id="echo", schedule="0 0 1 1 *", input={"messages": []}))
    assert cron["thread_id"] is None and cron["on_run_completed"] == "delete"
    threads = set()
    for _ in range(2):
        await make_due(pool, cron["cron_id"])
        assert sum(await asyncio.gather(*(fire_due(runs) for runs in schedulers))) == 1
        async with pool.connection() as conn:
            for active in await store.active_runs(conn, assistant_id=cron["assistant_id"]):
                run = await store.get_run(conn, active["run_id"])
                assert run["kwargs"]["on_completion"] == "delete"
                threads.add(run["thread_id"])
    assert len(threads) == 2

    async with pool.connection() as conn:
        await crons.update_cron(conn, cron["cron_id"], {"enabled": False})
    await make_due(pool, cron["cron_id"])
    assert sum(await asyncio.gather(*(fire_due(runs) for runs in schedulers))) == 0
