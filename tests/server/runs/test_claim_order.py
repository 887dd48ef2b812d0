"""The claim (`store.claim_run`) takes the oldest runnable run across pending and orphaned runs (a run whose worker
died, lease expired), skips runs queued behind an active run of their thread and runs another claimer holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from server.runs import store


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection[DictRow]]:
    async with await AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row) as opened:
        yield opened


async def _run(
    conn: AsyncConnection[DictRow],
    *,
    age_s: float,
    status: str = "pending",
    expired: bool = False,
    thread_id: uuid.UUID | None = None,
    attempt: int = 0,
) -> uuid.UUID:
    """A run created `age_s` seconds ago, on a thread of its own unless `thread_id` is given."""
    run_id, thread_id = uuid.uuid4(), thread_id or uuid.uuid4()
    await conn.execute("INSERT INTO keel.threads (thread_id) VALUES (%s) ON CONFLICT DO NOTHING", (thread_id,))
    lease = (
        "now() - interval '1 minute'" if expired else ("now() + interval '1 minute'" if status == "running" else "NULL")
    )
    await conn.execute(
        f"""INSERT INTO keel.runs (run_id, thread_id, assistant_id, graph_id, status, attempt, lease_owner,
                                   lease_expires_at, created_at)
            VALUES (%s, %s, 'g', 'g', %s, %s, %s, {lease}, now() - make_interval(secs => %s))""".encode(),
        (run_id, thread_id, status, attempt, "dead" if status == "running" else None, age_s),
    )
    return run_id


async def _claim(conn: AsyncConnection[DictRow]) -> uuid.UUID | None:
    claimed = await store.claim_run(conn, worker_id="me", lease_s=60, max_attempts=3)
    return None if claimed is None else claimed[0]["run_id"]


async def test_the_oldest_runnable_run_is_claimed_first_whether_pending_or_orphaned(
    conn: AsyncConnection[DictRow],
):
    newer = await _run(conn, age_s=10)
    orphaned = await _run(conn, age_s=20, status="running", expired=True, attempt=1)
    oldest = await _run(conn, age_s=30)
    exhausted = await _run(conn, age_s=40, status="running", expired=True, attempt=3)  # the sweeper ends it
    assert [await _claim(conn) for _ in range(4)] == [oldest, orphaned, newer, None]
    rows = await (await conn.execute("SELECT run_id, status FROM keel.runs WHERE run_id = %s", (exhausted,))).fetchall()
    assert rows[0]["status"] == "running"


async def test_a_run_behind_an_active_run_of_its_thread_waits(conn: AsyncConnection[DictRow]):
    thread = uuid.uuid4()
    await _run(conn, age_s=30, status="running", thread_id=thread, attempt=1)  # live lease
    queued = await _run(conn, age_s=20, thread_id=thread)
    other = await _run(conn, age_s=10)
    assert await _claim(conn) == other
    assert await _claim(conn) is None
    await conn.execute(
        "UPDATE keel.runs SET status = 'success' WHERE thread_id = %s AND run_id <> %s", (thread, queued)
    )
    assert await _claim(conn) == queued


async def test_a_run_another_claimer_holds_is_skipped(conn: AsyncConnection[DictRow], database_url: str):
    held = await _run(conn, age_s=20)
    free = await _run(conn, age_s=10)
    async with await AsyncConnection.connect(database_url, row_factory=dict_row) as other:
        await other.execute("SELECT 1 FROM keel.runs WHERE run_id = %s FOR UPDATE", (held,))
        assert await _claim(conn) == free
        await other.rollback()
    assert await _claim(conn) == held
