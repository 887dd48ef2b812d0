"""LangChain's human-in-the-loop schema through the official SDK: an approval interrupt carries `action_requests`
and `review_configs` beside keel's fields; one model turn's approval_required calls are one interrupt, answered by
one `{"decisions": [...]}` list in order (no interrupt ids needed); an invalid list is a 422 that changes nothing;
keel's own decisions still work; a `goto` to the end marks the pending calls resolved. Every decided call is an
audit row in keel.approvals, recorded in keel's kinds."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Command

from tests.process import KeelProcess
from tests.server.runs.approvers import audit_rows
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow

UPGRADE_AND_REFUND = "Upgrade {customer} to the pro plan and refund $3 of invoice {invoice}"
REFUND = "Refund $3 of invoice inv_tyrell_2026_11 for cus_tyrell"


def effects(served: KeelProcess, customer: str, invoice: str) -> dict[str, Any]:
    """What the calls of these requests change on the desk: the customer's plan, the invoice's refunds, the ledger."""
    with psycopg.connect(served.env["DATABASE_URL"]) as conn:
        row = conn.execute(
            """SELECT (SELECT plan_tier FROM desk.customers WHERE customer_id = %s) AS plan,
                      (SELECT coalesce(array_agg(amount_cents ORDER BY refund_id), '{}') FROM desk.refunds
                       WHERE invoice_id = %s) AS refunds,
                      (SELECT count(*) FROM desk.tool_effects
                       WHERE tool IN ('issue_refund', 'enable_paid_plan')) AS ledger""",
            (customer, invoice),
        ).fetchone()
    assert row is not None
    return dict(zip(("plan", "refunds", "ledger"), row, strict=True))


async def waiting(client: LangGraphClient, request: str) -> tuple[str, list[dict[str, Any]]]:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "support", input=human(request))
    state = await client.threads.get_state(thread["thread_id"])
    return str(thread["thread_id"]), [dict(item) for item in state["interrupts"]]


async def refused(call: Any, status: int) -> str:
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await call
    assert failed.value.response.status_code == status, failed.value.response.text
    return str(failed.value.response.json()["detail"])


async def test_one_turn_is_one_interrupt_decided_by_one_list_in_order(client: LangGraphClient, served: KeelProcess):
    customer, invoice = "cus_tyrell", "inv_tyrell_2026_11"
    thread_id, pending = await waiting(client, UPGRADE_AND_REFUND.format(customer=customer, invoice=invoice))
    [interrupt] = pending
    value = interrupt["value"]
    assert [a["name"] for a in value["action_requests"]] == ["enable_paid_plan", "issue_refund"]
    assert [(c["action_name"], c["allowed_decisions"]) for c in value["review_configs"]] == [
        ("enable_paid_plan", ["approve", "edit", "reject"]),
        ("issue_refund", ["approve", "edit", "reject"]),
    ]
    assert value["review_configs"][1]["args_schema"]["properties"]["amount"]["type"] == "number"
    assert [c["tool"] for c in value["calls"]] == ["enable_paid_plan", "issue_refund"]
    # The inbox lists it once, with every call.
    [listed] = [row for row in await client.http.get("/approvals") if row["interrupt_id"] == interrupt["id"]]
    assert [c["tool"] for c in listed["calls"]] == ["enable_paid_plan", "issue_refund"]
    assert len(listed["action_requests"]) == 2

    before = effects(served, customer, invoice)
    wrong_name = {"name": "enable_paid_plan", "args": value["action_requests"][1]["args"]}
    bad: list[tuple[Any, str]] = [
        ({"decisions": [{"type": "approve"}]}, "1 decisions for 2 action request(s)"),
        ({"decisions": [{"type": "approve"}, {"type": "maybe"}]}, "decision 1 (issue_refund): invalid decision"),
        ({"decisions": [{"type": "approve"}, {"type": "edit", "edited_action": wrong_name}]}, "not the tool"),
        ({"type": "accept"}, "answer with {'decisions': [...]}"),  # keel's one decision, for two calls
    ]
    for resume, why in bad:
        assert why in await refused(client.runs.wait(thread_id, "support", command={"resume": resume}), 422)
    state = await client.threads.get_state(thread_id)
    assert [i["id"] for i in state["interrupts"]] == [interrupt["id"]]
    assert effects(served, customer, invoice) == before and audit_rows(served.env["DATABASE_URL"], thread_id) == []

    # No interrupt id: the list answers the one pending interrupt, in the order of its action requests.
    decisions: Command = {"resume": {"decisions": [{"type": "approve"}, {"type": "reject", "message": "not owed"}]}}
    await client.runs.wait(thread_id, "support", command=decisions)
    after = effects(served, customer, invoice)
    assert after == {**before, "plan": "pro", "ledger": before["ledger"] + 1}  # exactly one effect: the upgrade
    assert (await client.threads.get_state(thread_id))["interrupts"] == []
    rows = audit_rows(served.env["DATABASE_URL"], thread_id)
    assert [(r["interrupt_id"], r["action_index"], r["tool"], r["decision"], r["reason"]) for r in rows] == [
        (interrupt["id"], 0, "enable_paid_plan", "accept", None),
        (interrupt["id"], 1, "issue_refund", "reject", "not owed"),
    ]
    shown = await client.http.get(f"/threads/{thread_id}/approvals")
    assert sorted((r["action_index"], r["decision"]) for r in shown) == [(0, "accept"), (1, "reject")]


async def test_langchain_edit_with_a_number_as_a_form_sends_it(client: LangGraphClient, served: KeelProcess):
    customer, invoice = "cus_hooli", "inv_hooli_2026_11"
    thread_id, [interrupt] = await waiting(client, UPGRADE_AND_REFUND.format(customer=customer, invoice=invoice))
    before = effects(served, customer, invoice)
    refund = interrupt["value"]["action_requests"][1]
    edited = {"name": "issue_refund", "args": {**refund["args"], "amount": "49"}}
    negative = {"name": "issue_refund", "args": {**refund["args"], "amount": "-1"}}
    too_low: Command = {"resume": {"decisions": [{"type": "reject"}, {"type": "edit", "edited_action": negative}]}}
    assert "greater than 0" in await refused(client.runs.wait(thread_id, "support", command=too_low), 422)
    command: Command = {
        "resume": {interrupt["id"]: {"decisions": [{"type": "reject"}, {"type": "edit", "edited_action": edited}]}}
    }
    await client.runs.wait(thread_id, "support", command=command)
    after = effects(served, customer, invoice)
    assert after["refunds"] == [*before["refunds"], 4900] and after["plan"] == before["plan"]
    rows = audit_rows(served.env["DATABASE_URL"], thread_id)
    assert [(r["action_index"], r["decision"], r["final_args"]) for r in rows] == [
        (0, "reject", None),
        (1, "edit", {**refund["args"], "amount": 49.0}),
    ]


async def test_a_single_call_keeps_keels_payload_and_vocabulary(client: LangGraphClient, served: KeelProcess):
    thread_id, [interrupt] = await waiting(client, REFUND)
    value = interrupt["value"]
    keel_fields = ("tool", "args", "agent", "reason", "description", "tool_call_id", "error", "permission")
    assert all(key in value for key in (*keel_fields, "two_person", "requested_by"))
    assert value["tool"] == "issue_refund" and "calls" not in value
    assert value["action_requests"] == [
        {"name": "issue_refund", "args": value["args"], "description": value["action_requests"][0]["description"]}
    ]
    before = effects(served, "cus_tyrell", "inv_tyrell_2026_11")
    edit: Command = {"resume": {"type": "edit", "args": {**value["args"], "amount": "2"}}}
    await client.runs.wait(thread_id, "support", command=edit)
    after = effects(served, "cus_tyrell", "inv_tyrell_2026_11")
    assert after["refunds"] == [*before["refunds"], 200]
    [row] = audit_rows(served.env["DATABASE_URL"], thread_id)
    assert (row["decision"], row["action_index"], row["final_args"]["amount"]) == ("edit", 0, 2.0)


async def test_mark_as_resolved_discards_the_pending_calls(client: LangGraphClient, served: KeelProcess):
    customer, invoice = "cus_acme", "inv_acme_2026_11"
    thread_id, [interrupt] = await waiting(client, UPGRADE_AND_REFUND.format(customer=customer, invoice=invoice))
    before = effects(served, customer, invoice)
    assert "nothing beside it" in await refused(
        client.runs.wait(thread_id, "support", command={"goto": "__end__", "update": {"messages": []}}), 422
    )
    # A cron firing later would settle whatever is pending then, decided by no one: refused.
    cron = {"assistant_id": "support", "schedule": "* * * * *", "command": {"goto": "__end__"}}
    assert "goto to the end" in await refused(client.http.post(f"/threads/{thread_id}/runs/crons", json=cron), 422)
    await client.runs.wait(thread_id, "support", command={"goto": "__end__"})  # Agent Chat UI's "Mark as resolved"
    assert effects(served, customer, invoice) == before
    state = await client.threads.get_state(thread_id)
    assert state["interrupts"] == [] and state["next"] == []
    assert (await client.threads.get(thread_id))["status"] == "idle"
    rows = audit_rows(served.env["DATABASE_URL"], thread_id)
    assert [(r["interrupt_id"], r["action_index"], r["decision"], r["final_args"]) for r in rows] == [
        (interrupt["id"], 0, "resolved", None),
        (interrupt["id"], 1, "resolved", None),
    ]
    # Nothing is pending any more: a second "resolved" has nothing to settle.
    assert "no pending approval" in await refused(
        client.runs.wait(thread_id, "support", command={"goto": "__end__"}), 409
    )
