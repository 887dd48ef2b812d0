from __future__ import annotations

import pytest

from tests.tools.desk import count, rows, run_tool
from tools.spec import ToolError


async def test_billing_status_of_a_customer_in_good_standing(desk):
    acme = await run_tool(desk, "check_billing_status", customer_id="cus_acme")
    assert acme["plan"] == "pro"
    assert acme["subscription"]["status"] == "active"
    assert acme["subscription"]["monthly_price"] == 199.0
    assert acme["balance_due"] == 0
    assert acme["overdue_invoices"] == []
    assert [inv["invoice_id"] for inv in acme["invoices"]] == ["inv_acme_2026_11", "inv_acme_2026_10"]
    october = acme["invoices"][1]
    assert (october["status"], october["amount"], october["refunded"]) == ("paid", 199.0, 50.0)


async def test_billing_status_shows_a_past_due_account(desk):
    initech = await run_tool(desk, "check_billing_status", customer_id="cus_initech")
    assert initech["subscription"]["status"] == "past_due"
    assert initech["overdue_invoices"] == ["inv_initech_2026_10", "inv_initech_2026_11"]
    assert initech["balance_due"] == 98.0


async def test_billing_status_of_an_enterprise_customer_has_no_list_price(desk):
    wayne = await run_tool(desk, "check_billing_status", customer_id="cus_wayne")
    assert wayne["subscription"]["monthly_price"] is None
    assert wayne["subscription"]["seats"] == 1200


async def test_billing_status_unknown_customer(desk):
    with pytest.raises(ToolError, match="no customer with id 'cus_nope'"):
        await run_tool(desk, "check_billing_status", customer_id="cus_nope")


async def test_enable_paid_plan_upgrades_and_invoices(desk):
    result = await run_tool(desk, "enable_paid_plan", customer_id="cus_soylent", plan="starter")
    assert result["previous_plan"] == "free"
    assert result["plan"] == "starter"
    assert result["monthly_price"] == 49.0
    assert result["seats"] == 10
    [customer] = await rows(desk, "SELECT plan_tier, enterprise FROM desk.customers WHERE customer_id = 'cus_soylent'")
    assert customer == {"plan_tier": "starter", "enterprise": False}
    [sub] = await rows(desk, "SELECT status, seats FROM desk.subscriptions WHERE customer_id = 'cus_soylent'")
    assert sub == {"status": "active", "seats": 10}
    [invoice] = await rows(desk, "SELECT * FROM desk.invoices WHERE customer_id = 'cus_soylent'")
    assert (invoice["invoice_id"], invoice["amount_cents"], invoice["status"]) == (result["invoice_id"], 4900, "open")


async def test_enable_paid_plan_once_per_key(desk):
    first = await run_tool(desk, "enable_paid_plan", key="k-plan", customer_id="cus_nakatomi", plan="pro")
    again = await run_tool(desk, "enable_paid_plan", key="k-plan", customer_id="cus_nakatomi", plan="pro")
    assert again == first
    assert await count(desk, "SELECT count(*) FROM desk.invoices WHERE customer_id = 'cus_nakatomi'") == 1
    # A new call (another key) for the same change is refused instead of invoicing twice.
    with pytest.raises(ToolError, match="already on the pro plan"):
        await run_tool(desk, "enable_paid_plan", key="k-plan-2", customer_id="cus_nakatomi", plan="pro")
    assert await count(desk, "SELECT count(*) FROM desk.invoices WHERE customer_id = 'cus_nakatomi'") == 1


@pytest.mark.parametrize(
    ("customer_id", "plan", "message"),
    [
        ("cus_initech", "pro", "overdue invoices \\(inv_initech_2026_10, inv_initech_2026_11\\)"),
        ("cus_hooli", "starter", "jared@hooli.example.*without the 'billing.manage' permission"),
        ("cus_globex", "pro", "enterprise contract; plan changes go through the account team"),
        ("cus_acme", "pro", "already on the pro plan"),
        ("cus_ghost", "pro", "no customer with id 'cus_ghost'"),
    ],
)
async def test_enable_paid_plan_refusals_change_nothing(desk, customer_id, plan, message):
    before = await rows(desk, "SELECT customer_id, plan_tier FROM desk.customers ORDER BY customer_id")
    with pytest.raises(ToolError, match=message):
        await run_tool(desk, "enable_paid_plan", customer_id=customer_id, plan=plan)
    assert await rows(desk, "SELECT customer_id, plan_tier FROM desk.customers ORDER BY customer_id") == before
    assert await count(desk, "SELECT count(*) FROM desk.invoices WHERE status = 'open'") == 0
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 0


async def test_enable_paid_plan_only_offers_self_serve_plans(desk):
    with pytest.raises(ValueError, match="plan"):
        await run_tool(desk, "enable_paid_plan", customer_id="cus_soylent", plan="enterprise")
