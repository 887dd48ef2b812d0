"""The ledger's guarantees, for every write tool and for the helper itself: one effect per key, recorded
in the same transaction as the write, even when calls with the same key race."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.tools.desk import count, rows, run_tool, tool_call
from tools.ledger import IdempotencyKeyReused, write_once
from tools.spec import ToolError

# Each write tool: its arguments, and a query counting the rows one call adds.
WRITES: dict[str, tuple[dict[str, Any], str]] = {
    "create_workspace": (
        {"customer_id": "cus_acme", "name": "Race"},
        "SELECT count(*) FROM desk.workspaces",
    ),
    "open_ticket": (
        {"customer_id": "cus_acme", "subject": "Race", "body": "Two workers, one ticket."},
        "SELECT count(*) FROM desk.tickets",
    ),
    "enable_paid_plan": (
        {"customer_id": "cus_soylent", "plan": "pro"},
        "SELECT count(*) FROM desk.invoices",
    ),
    "issue_refund": (
        {"customer_id": "cus_tyrell", "invoice_id": "inv_tyrell_2026_11b", "amount": 49, "reason": "Duplicate"},
        "SELECT count(*) FROM desk.refunds",
    ),
    "send_external_message": (
        {"customer_id": "cus_acme", "subject": "Race", "body": "One email."},
        "SELECT count(*) FROM desk.outbox",
    ),
}


@pytest.mark.parametrize("tool", sorted(WRITES))
async def test_same_key_twice_writes_once_and_returns_the_first_result(desk, tool):
    arguments, counting = WRITES[tool]
    before = await count(desk, counting)
    first = await run_tool(desk, tool, key=f"k:{tool}", **arguments)
    again = await run_tool(desk, tool, key=f"k:{tool}", **arguments)
    assert again == first
    assert list(again) == list(first)  # same key order too: both come from the stored jsonb
    assert await count(desk, counting) == before + 1
    [effect] = await rows(desk, "SELECT * FROM desk.tool_effects")
    assert (effect["idempotency_key"], effect["tool"], effect["result"]) == (f"k:{tool}", tool, first)


@pytest.mark.parametrize("tool", sorted(WRITES))
async def test_same_key_from_concurrent_calls_writes_once(desk, tool):
    arguments, counting = WRITES[tool]
    before = await count(desk, counting)
    results = await asyncio.gather(*(run_tool(desk, tool, key=f"race:{tool}", **arguments) for _ in range(4)))
    assert all(result == results[0] for result in results)
    assert await count(desk, counting) == before + 1
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 1


async def test_different_keys_write_twice(desk):
    await run_tool(desk, "open_ticket", key="a", customer_id="cus_wayne", subject="One", body="x")
    await run_tool(desk, "open_ticket", key="b", customer_id="cus_wayne", subject="One", body="x")
    assert await count(desk, "SELECT count(*) FROM desk.tickets WHERE customer_id = 'cus_wayne'") == 2
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 2


TICKETS_WRITTEN: list[int] = []


async def _slow_ticket(conn) -> dict:
    TICKETS_WRITTEN.append(1)
    row = await (
        await conn.execute(
            "INSERT INTO desk.tickets (customer_id, subject, body, priority)"
            " VALUES ('cus_acme', 'slow', 'x', 'low') RETURNING ticket_id"
        )
    ).fetchone()
    await conn.execute("SELECT pg_sleep(0.3)")  # hold the claim while the other call arrives
    return {"ticket_id": row["ticket_id"]}


async def test_a_racing_repeat_waits_for_the_first_and_returns_its_result(desk):
    TICKETS_WRITTEN.clear()
    first, second = await asyncio.gather(
        write_once(tool_call(desk, "slow"), "open_ticket", _slow_ticket),
        write_once(tool_call(desk, "slow"), "open_ticket", _slow_ticket),
    )
    assert first == second
    assert TICKETS_WRITTEN == [1], "the second call waited for the first, it did not redo the work"
    assert await count(desk, "SELECT count(*) FROM desk.tickets WHERE subject = 'slow'") == 1


async def test_a_failed_write_leaves_neither_the_effect_nor_the_record(desk):
    async def crash_after_writing(conn) -> dict:
        await conn.execute(
            "INSERT INTO desk.outbox (customer_id, to_address, subject, body) VALUES ('cus_acme', 'a@b', 's', 'b')"
        )
        raise ConnectionError("worker died mid-write")

    with pytest.raises(ConnectionError):
        await write_once(tool_call(desk, "k-crash"), "send_external_message", crash_after_writing)
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 0
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 0
    # the retry with the same key does the work (nothing was recorded for it)
    result = await run_tool(
        desk, "send_external_message", key="k-crash", customer_id="cus_acme", subject="Sorry", body="b"
    )
    assert result["to"] == "alice@acme.example"
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 1


async def test_a_refused_call_can_succeed_later_with_the_same_key(desk):
    arguments = {"customer_id": "cus_initech", "plan": "pro"}
    with pytest.raises(ToolError, match="overdue"):
        await run_tool(desk, "enable_paid_plan", key="k-later", **arguments)
    async with desk.connection() as conn:
        await conn.execute("UPDATE desk.invoices SET status = 'paid', paid_on = current_date WHERE status = 'overdue'")
    result = await run_tool(desk, "enable_paid_plan", key="k-later", **arguments)
    assert result["plan"] == "pro"


async def test_a_key_belongs_to_one_tool(desk):
    await run_tool(desk, "open_ticket", key="shared", customer_id="cus_acme", subject="One", body="x")
    with pytest.raises(IdempotencyKeyReused, match="already used by tool 'open_ticket'"):
        await run_tool(desk, "send_external_message", key="shared", customer_id="cus_acme", subject="Hello", body="x")
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 0


async def test_an_empty_key_is_a_bug(desk):
    with pytest.raises(ValueError, match="non-empty idempotency key"):
        await write_once(tool_call(desk, ""), "open_ticket", _slow_ticket)
