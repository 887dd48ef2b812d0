"""Every way a run ends or is cancelled locks its thread's row before the run's row, as creating a run does.

A create holds the thread and then cancels the thread's active runs (interrupt, rollback); had an ending
locked the run first and then waited for the thread, the two would deadlock. Here the thread is held by
another transaction: the ending must wait for it without having locked the run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from server.db.pool import Connection, Pool
from server.runs import store

Ending = Callable[[Connection, uuid.UUID, uuid.UUID], Coroutine[Any, Any, Any]]


async def _finish(conn: Connection, run_id: uuid.UUID, _thread_id: uuid.UUID) -> Any:
    return await store.finish_run(conn, run_id, status="success")


async def _cancel(conn: Connection, run_id: uuid.UUID, _thread_id: uuid.UUID) -> Any:
    async with conn.transaction():
        return await store.request_cancel(conn, run_id, "interrupt")


async def _rollback(conn: Connection, run_id: uuid.UUID, thread_id: uuid.UUID) -> Any:
    async with conn.transaction():
        return await store.rollback_run(conn, run_id, thread_id)


async def _blocked(watcher: Connection, pid: int) -> None:
    """Until the backend `pid` waits for a lock."""
    while True:
        cur = await watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = await cur.fetchone()
        if row is not None and row["wait_event_type"] == "Lock":
            return
        await asyncio.sleep(0.01)


async def _lockable(probe: Connection, run_id: uuid.UUID) -> bool:
    try:
        await probe.execute("SELECT 1 FROM keel.runs WHERE run_id = %s FOR UPDATE NOWAIT", (run_id,))
    except psycopg.errors.LockNotAvailable:
        return False
    return True


@pytest.mark.parametrize("ending", [_finish, _cancel, _rollback], ids=["finish_run", "request_cancel", "rollback_run"])
async def test_an_ending_waits_for_the_thread_before_locking_the_run(pool: Pool, database_url: str, ending: Ending):
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        run = await store.insert_run(
            conn, thread_id=thread_id, create_thread=True, assistant_id="a", graph_id="g", kwargs={}, metadata={}
        )
    connect = psycopg.AsyncConnection.connect
    async with (
        await connect(database_url, autocommit=True, row_factory=dict_row) as holder,
        await connect(database_url, autocommit=True, row_factory=dict_row) as ender,
        await connect(database_url, autocommit=True, row_factory=dict_row) as probe,
    ):
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM keel.threads WHERE thread_id = %s FOR UPDATE", (thread_id,))
            ending_task = asyncio.create_task(ending(ender, run["run_id"], thread_id))
            await asyncio.wait_for(_blocked(probe, ender.info.backend_pid), timeout=10)
            run_was_free = await _lockable(probe, run["run_id"])
        await asyncio.wait_for(ending_task, timeout=10)
    assert run_was_free, f"{ending.__name__} locked the run before its thread"
    async with pool.connection() as conn:
        thread = await (
            await conn.execute("SELECT status, active_runs FROM keel.threads WHERE thread_id = %s", (thread_id,))
        ).fetchone()
    assert thread is not None and thread["active_runs"] == 0, thread


async def test_the_sweeper_skips_a_run_whose_thread_is_held_and_ends_it_once_released(pool: Pool, database_url: str):
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        run = await store.insert_run(
            conn, thread_id=thread_id, create_thread=True, assistant_id="a", graph_id="g", kwargs={}, metadata={}
        )
        await conn.execute(
            """UPDATE keel.runs SET status = 'running', attempt = 3, lease_owner = 'gone',
                      lease_expires_at = now() - interval '1 minute' WHERE run_id = %s""",
            (run["run_id"],),
        )
    connect = psycopg.AsyncConnection.connect
    async with (
        await connect(database_url, autocommit=True, row_factory=dict_row) as holder,
        await connect(database_url, autocommit=True, row_factory=dict_row) as sweeper,
        await connect(database_url, autocommit=True, row_factory=dict_row) as probe,
    ):
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM keel.threads WHERE thread_id = %s FOR UPDATE", (thread_id,))
            async with sweeper.transaction():
                assert await store.fail_exhausted(sweeper, max_attempts=3) == []
                assert await _lockable(probe, run["run_id"]), "the sweeper locked the run without its thread"
        async with sweeper.transaction():
            [ended] = await store.fail_exhausted(sweeper, max_attempts=3)
    assert ended["run_id"] == run["run_id"]
    async with pool.connection() as conn:
        ran = await store.get_run(conn, run["run_id"])
    assert ran["status"] == "error" and "abandoned after 3 attempt(s)" in (ran["error"] or "")
