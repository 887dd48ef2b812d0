"""A run created in a process with a free worker slot starts there: inserted already running under that
worker's lease, with no claim and no wake-up of the other workers. With every slot busy it is queued for
whichever worker frees up first. Creates and ends racing on one thread still agree on what is active: the
thread row counts its active runs."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from server.db.pool import Connection, Pool
from server.records import Run
from server.runs import store
from server.runs.notify import RUNS_CHANNEL
from tests.server.runs.cluster import Cluster
from tests.waiting import scaled, wait_until_async

pytestmark = pytest.mark.slow  # keel runs as a child process

SLOW: dict[str, Any] = {"delay": 0.5, "done": []}


async def _running_owner(client: LangGraphClient, cluster: Cluster, thread_id: str, run_id: str) -> str:
    async def running() -> bool:
        return bool((await client.runs.get(thread_id, run_id))["status"] == "running")

    await wait_until_async(running, what=f"run {run_id} to run", interval=0.02)
    [(owner,)] = cluster.query("SELECT lease_owner FROM keel.runs WHERE run_id = %s", run_id)
    return str(owner)


async def test_a_run_starts_in_the_process_that_created_it_while_it_has_a_free_slot(cluster: Cluster):
    # One slot; its claimer idles between polls (30 s) instead of holding the slot for a claim query.
    here = cluster.serve("here", KEEL_WORKERS="1", KEEL_RUN_POLL="30")
    elsewhere = cluster.worker("elsewhere", size=4)
    async with (
        await psycopg.AsyncConnection.connect(cluster.url, autocommit=True) as listener,
        get_client(url=here.base_url) as client,
    ):
        await listener.execute(f"LISTEN {RUNS_CHANNEL}")
        first = await client.runs.create(str(uuid.uuid4()), "steps", input=SLOW, if_not_exists="create")
        owner = await _running_owner(client, cluster, first["thread_id"], first["run_id"])
        assert f":{here.proc.pid}:" in owner, f"ran in {owner}, not in the process that created it"
        # Its only slot is busy: the next run is queued, and the idle worker elsewhere claims it.
        second = await client.runs.create(str(uuid.uuid4()), "steps", input=SLOW, if_not_exists="create")
        owner = await _running_owner(client, cluster, second["thread_id"], second["run_id"])
        assert f":{elsewhere.proc.pid}:" in owner, f"ran in {owner}, not in the worker with free slots"
        for run in (first, second):
            await asyncio.wait_for(client.runs.join(run["thread_id"], run["run_id"]), timeout=scaled(60))
            assert (await client.runs.get(run["thread_id"], run["run_id"]))["status"] == "success"
        notified = set()
        async for note in listener.notifies(timeout=0.5):
            notified.add(note.payload)
    assert first["run_id"] not in notified, "a run that started where it was created wakes no worker"
    assert second["run_id"] in notified, "a queued run wakes the workers"


async def _insert(conn: Connection, thread_id: uuid.UUID, worker: str) -> Run:
    return await store.insert_run(
        conn,
        thread_id=thread_id,
        create_thread=True,
        assistant_id="g",
        graph_id="g",
        kwargs={},
        metadata={},
        start=store.Lease(worker, 30.0),
    )


async def _blocked_on_a_lock(pool: Pool) -> None:
    """Wait until some session of this database waits for a lock (the racing statement reached the row)."""

    async def blocked() -> bool:
        async with pool.connection() as conn:
            cur = await conn.execute(
                """SELECT count(*) AS n FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'"""
            )
            row = await cur.fetchone()
        return bool(row and row["n"] > 0)

    await wait_until_async(blocked, what="the racing statement to wait for the thread row's lock")


async def test_two_creates_racing_on_an_idle_thread_start_only_one(pool: Pool) -> None:
    thread_id = uuid.uuid4()
    async with pool.connection() as first, pool.connection() as second:
        async with first.transaction():
            started = await _insert(first, thread_id, "one")
            # The second create's snapshot predates the first's commit: it sees an idle thread too.
            racing = asyncio.create_task(_insert(second, thread_id, "two"))
            await _blocked_on_a_lock(pool)
            assert not racing.done(), "the second create waits for the thread row the first one holds"
        queued = await racing
    assert started["status"] == "running" and started["lease_owner"] == "one"
    assert queued["status"] == "pending" and queued["lease_owner"] is None and queued["attempt"] == 0


async def test_a_run_finishing_as_the_next_one_is_created_leaves_the_thread_busy(pool: Pool) -> None:
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        first = await _insert(conn, thread_id, "one")
    async with pool.connection() as creating, pool.connection() as finishing:
        async with creating.transaction():
            queued = await _insert(creating, thread_id, "two")
            # The finish's snapshot predates the next run's commit; it waits for the thread row meanwhile.
            ending = asyncio.create_task(
                store.finish_run(finishing, first["run_id"], status="success", worker_id="one")
            )
            await _blocked_on_a_lock(pool)
            assert not ending.done(), "the finish waits for the thread row the create holds"
        after = await ending
        thread = await store.get_thread(finishing, thread_id)
    assert queued["status"] == "pending"
    assert after == "busy", "the worker that ends the first run must wake a claimer for the queued one"
    assert thread["status"] == "busy", "the thread has a queued run"
