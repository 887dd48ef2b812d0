"""keel.approvals on real PostgreSQL, through its store: an approval is decided once per thread; a decision whose
run never got past the approval is superseded (kept, marked) when the approval, pending again, is decided anew;
a copied thread's approvals (same interrupt ids) are decided apart from the original's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from server.db.pool import Pool, create_pool
from server.errors import Conflict
from server.runs.store import approvals as audit
from server.settings import DatabaseSettings


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = create_pool(database_url, DatabaseSettings())
    await pool.open(wait=True)
    yield pool
    await pool.close()


def decision(thread_id: uuid.UUID, interrupt_id: str, decider: str) -> audit.DecisionRecord:
    return audit.DecisionRecord(
        interrupt_id=interrupt_id,
        action_index=0,
        thread_id=thread_id,
        run_id=uuid.uuid4(),
        tool="issue_refund",
        proposed_args={"amount": 5.0},
        decision="accept",
        final_args={"amount": 5.0},
        reason=None,
        message=None,
        decider=decider,
        decider_name=decider.title(),
        requested_by="alice",
    )


async def rows(pool: Pool, thread_id: uuid.UUID) -> list[tuple[str, bool]]:
    async with pool.connection() as conn:
        found = await audit.thread_decisions(conn, thread_id, limit=100, offset=0)
    return sorted((row["decider"], row["superseded_at"] is not None) for row in found)


async def test_an_approval_is_decided_once_unless_it_is_pending_again(pool: Pool):
    thread, copy, interrupt = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
    async with pool.connection() as conn, conn.transaction():
        await audit.record_decisions(conn, [decision(thread, interrupt, "bob")], supersede=False)
    with pytest.raises(Conflict, match=interrupt):
        async with pool.connection() as conn, conn.transaction():
            await audit.record_decisions(conn, [decision(thread, interrupt, "carol")], supersede=False)
    assert await rows(pool, thread) == [("bob", False)]

    # Pending again at the head (bob's run was rolled back): carol's decision supersedes his, which stays.
    async with pool.connection() as conn, conn.transaction():
        await audit.record_decisions(conn, [decision(thread, interrupt, "carol")], supersede=True)
    assert await rows(pool, thread) == [("bob", True), ("carol", False)]

    # A copy of the thread has the same interrupt id: its decision leaves the original's alone.
    async with pool.connection() as conn, conn.transaction():
        await audit.record_decisions(conn, [decision(copy, interrupt, "dave")], supersede=True)
    assert await rows(pool, thread) == [("bob", True), ("carol", False)]
    assert await rows(pool, copy) == [("dave", False)]
