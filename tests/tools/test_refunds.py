from __future__ import annotations

import pytest

from tests.tools.desk import count, rows, run_tool
from tools.spec import ToolError

DUPLICATE = {"customer_id": "cus_tyrell", "invoice_id": "inv_tyrell_2026_11b", "reason": "Duplicate charge"}


async def test_refund_a_duplicate_charge(desk):
    result = await run_tool(desk, "issue_refund", amount=49.00, **DUPLICATE)
    assert result["amount"] == 49.0
    assert result["invoice_refundable_left"] == 0
    [refund] = await rows(desk, "SELECT * FROM desk.refunds WHERE invoice_id = 'inv_tyrell_2026_11b'")
    assert (refund["refund_id"], refund["amount_cents"], refund["customer_id"]) == (
        result["refund_id"],
        4900,
        "cus_tyrell",
    )


async def test_refund_once_per_key_even_after_approval_replays(desk):
    first = await run_tool(desk, "issue_refund", key="k-refund", amount=10.5, **DUPLICATE)
    again = await run_tool(desk, "issue_refund", key="k-refund", amount=10.5, **DUPLICATE)
    assert again == first
    assert await count(desk, "SELECT count(*) FROM desk.refunds WHERE invoice_id = %s", DUPLICATE["invoice_id"]) == 1
    other = await run_tool(desk, "issue_refund", key="k-refund-2", amount=10.5, **DUPLICATE)
    assert other["refund_id"] != first["refund_id"]
    assert other["invoice_refundable_left"] == 28.0
    assert (
        await count(desk, "SELECT sum(amount_cents) FROM desk.refunds WHERE invoice_id = %s", DUPLICATE["invoice_id"])
        == 2100
    )


async def test_refunds_never_exceed_the_invoice(desk):
    # inv_acme_2026_10 is 199.00 with a 50.00 service credit already refunded
    with pytest.raises(ToolError, match=r"only 149\.00 USD left to refund \(50\.00 of 199\.00 already refunded\)"):
        await run_tool(
            desk, "issue_refund", customer_id="cus_acme", invoice_id="inv_acme_2026_10", amount=150, reason="Goodwill"
        )
    ok = await run_tool(
        desk, "issue_refund", customer_id="cus_acme", invoice_id="inv_acme_2026_10", amount=149, reason="Goodwill"
    )
    assert ok["invoice_refundable_left"] == 0
    assert await count(desk, "SELECT count(*) FROM desk.refunds WHERE invoice_id = 'inv_acme_2026_10'") == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"customer_id": "cus_initech", "invoice_id": "inv_initech_2026_10"}, "is overdue, not paid"),
        (
            {"customer_id": "cus_acme", "invoice_id": "inv_tyrell_2026_11"},
            "cus_acme has no invoice 'inv_tyrell_2026_11'",
        ),
        ({"customer_id": "cus_acme", "invoice_id": "inv_nope"}, "cus_acme has no invoice 'inv_nope'"),
        ({"customer_id": "cus_nope", "invoice_id": "inv_acme_2026_10"}, "no customer with id 'cus_nope'"),
        ({"customer_id": "cus_acme", "invoice_id": "inv_acme_2026_11", "amount": 1.005}, "more than two decimals"),
    ],
)
async def test_refund_refusals_write_nothing(desk, arguments, message):
    with pytest.raises(ToolError, match=message):
        await run_tool(desk, "issue_refund", **({"amount": 5, "reason": "Because"} | arguments))
    assert await count(desk, "SELECT count(*) FROM desk.refunds") == 1  # the seeded ref_0001
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 0


async def test_refund_amount_must_be_positive(desk):
    with pytest.raises(ValueError, match="greater than 0"):
        await run_tool(desk, "issue_refund", amount=0, **DUPLICATE)
