from __future__ import annotations

import pytest

from tests.tools.desk import count, rows, run_tool
from tools.spec import ToolError


async def test_open_ticket(desk):
    result = await run_tool(
        desk, "open_ticket", customer_id="cus_initech", subject="Update card", body="Card expired.", priority="high"
    )
    assert (result["status"], result["priority"]) == ("open", "high")
    [row] = await rows(desk, "SELECT * FROM desk.tickets WHERE ticket_id = %s", result["ticket_id"])
    assert (row["customer_id"], row["subject"], row["body"]) == ("cus_initech", "Update card", "Card expired.")
    assert await count(desk, "SELECT count(*) FROM desk.tickets WHERE customer_id = 'cus_initech'") == 2


async def test_open_ticket_once_per_key_and_twice_for_two_keys(desk):
    args = {"customer_id": "cus_acme", "subject": "SSO question", "body": "How do we rotate certificates?"}
    first = await run_tool(desk, "open_ticket", key="k-t", **args)
    assert await run_tool(desk, "open_ticket", key="k-t", **args) == first
    assert await count(desk, "SELECT count(*) FROM desk.tickets WHERE customer_id = 'cus_acme'") == 1
    second = await run_tool(desk, "open_ticket", key="k-t2", **args)
    assert second["ticket_id"] != first["ticket_id"]
    assert await count(desk, "SELECT count(*) FROM desk.tickets WHERE customer_id = 'cus_acme'") == 2


async def test_open_ticket_unknown_customer(desk):
    with pytest.raises(ToolError, match="no customer with id 'acme'; look customers up"):
        await run_tool(desk, "open_ticket", customer_id="acme", subject="Hello", body="x")
    assert await count(desk, "SELECT count(*) FROM desk.tickets") == 3  # the seeded ones


async def test_lookup_contract_terms(desk):
    globex = await run_tool(desk, "lookup_contract_terms", customer_id="cus_globex")
    assert globex == {
        "contract_id": "ctr_globex",
        "customer_id": "cus_globex",
        "seats": 500,
        "sla_uptime": "99.95%",
        "sla_response": "P1 incidents answered within 1 hour, 24/7",
        "payment_terms": "net 45",
        "annual_value": 240000.0,
        "currency": "USD",
        "start_date": "2024-04-01",
        "renewal_date": "2027-04-01",
        "auto_renew": True,
        "notice_days": 60,
    }
    wayne = await run_tool(desk, "lookup_contract_terms", customer_id="cus_wayne")
    assert (wayne["auto_renew"], wayne["renewal_date"], wayne["notice_days"]) == (False, "2027-01-01", 30)


async def test_lookup_contract_terms_for_a_self_serve_customer(desk):
    with pytest.raises(ToolError, match="cus_acme has no enterprise contract: it is on the self-serve pro plan"):
        await run_tool(desk, "lookup_contract_terms", customer_id="cus_acme")
    with pytest.raises(ToolError, match="no customer with id 'cus_zz'"):
        await run_tool(desk, "lookup_contract_terms", customer_id="cus_zz")


async def test_send_external_message_goes_to_the_admin_on_record(desk):
    result = await run_tool(
        desk, "send_external_message", customer_id="cus_initech", subject="Your invoices", body="Please update."
    )
    assert (result["to"], result["status"]) == ("peter@initech.example", "queued")
    [row] = await rows(desk, "SELECT * FROM desk.outbox")
    assert (row["message_id"], row["to_address"], row["channel"]) == (
        result["message_id"],
        "peter@initech.example",
        "email",
    )
    assert (row["subject"], row["body"]) == ("Your invoices", "Please update.")


async def test_send_external_message_once_per_key(desk):
    args = {"customer_id": "cus_tyrell", "subject": "Refund issued", "body": "We refunded the duplicate charge."}
    first = await run_tool(desk, "send_external_message", key="k-m", **args)
    assert await run_tool(desk, "send_external_message", key="k-m", **args) == first
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 1
    await run_tool(desk, "send_external_message", key="k-m2", **args)
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 2


async def test_send_external_message_has_no_recipient_argument(desk):
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        await run_tool(desk, "send_external_message", customer_id="cus_acme", subject="Hi", body="x", to="a@b.example")
    with pytest.raises(ToolError, match="no customer with id 'cus_q'"):
        await run_tool(desk, "send_external_message", customer_id="cus_q", subject="Hey", body="x")
    assert await count(desk, "SELECT count(*) FROM desk.outbox") == 0
