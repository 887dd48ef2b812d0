from __future__ import annotations

import pytest

from tests.tools.desk import count, rows, run_tool
from tools.spec import ToolError


async def test_the_seed_has_the_documented_customers(desk):
    ids = {row["customer_id"] for row in await rows(desk, "SELECT customer_id FROM desk.customers")}
    assert ids == {
        "cus_acme",
        "cus_globex",
        "cus_initech",
        "cus_hooli",
        "cus_wayne",
        "cus_soylent",
        "cus_tyrell",
        "cus_nakatomi",
    }
    assert await count(desk, "SELECT count(*) FROM desk.customers WHERE enterprise") == 2


@pytest.mark.parametrize("query", ["cus_acme", "alice@acme.example", "ALICE@acme.example", "Acme Corp", "acme"])
async def test_lookup_customer_by_id_email_or_name(desk, query):
    customer = await run_tool(desk, "lookup_customer", query=query)
    assert customer["customer_id"] == "cus_acme"
    assert customer["plan"] == "pro"
    assert customer["enterprise"] is False
    assert customer["region"] == "us"
    assert customer["admin"] == {"name": "Alice Nguyen", "email": "alice@acme.example", "role": "owner"}
    assert [ws["workspace_id"] for ws in customer["workspaces"]] == ["ws_acme_main", "ws_acme_staging"]


async def test_lookup_customer_by_a_colleagues_email_uses_the_domain(desk):
    customer = await run_tool(desk, "lookup_customer", query="bill.lumbergh@initech.example")
    assert customer["customer_id"] == "cus_initech"


async def test_lookup_customer_reports_enterprise_and_customers_without_workspaces(desk):
    globex = await run_tool(desk, "lookup_customer", query="globex")
    assert (globex["customer_id"], globex["enterprise"], globex["region"]) == ("cus_globex", True, "eu")
    nakatomi = await run_tool(desk, "lookup_customer", query="cus_nakatomi")
    assert nakatomi["workspaces"] == []
    assert nakatomi["customer_since"] == "2026-11-18"


@pytest.mark.parametrize("query", ["cus_nobody", "nobody@nowhere.example", "Umbrella"])
async def test_lookup_customer_not_found_says_how_to_look_up(desk, query):
    with pytest.raises(ToolError, match=r"no customer matches .*by id \(cus_…\), email or name"):
        await run_tool(desk, "lookup_customer", query=query)


async def test_lookup_customer_ambiguous_name_lists_the_candidates(desk):
    # "Corp" is in "Acme Corp" and "Globex Corporation"
    with pytest.raises(ToolError, match="2 customers match 'corp': cus_acme \\(Acme Corp\\), cus_globex"):
        await run_tool(desk, "lookup_customer", query="corp")


async def test_lookup_customer_treats_like_wildcards_literally(desk):
    with pytest.raises(ToolError, match="no customer matches"):
        await run_tool(desk, "lookup_customer", query="%")


async def test_check_admin_permissions_lists_and_checks(desk):
    acme = await run_tool(desk, "check_admin_permissions", customer_id="cus_acme", permission="workspaces.create")
    assert acme["allowed"] is True
    assert "reason" not in acme
    assert acme["permissions"] == ["billing.manage", "sso.configure", "users.invite", "workspaces.create"]

    hooli = await run_tool(desk, "check_admin_permissions", customer_id="cus_hooli", permission="billing.manage")
    assert hooli["allowed"] is False
    assert hooli["admin"]["role"] == "member"
    assert hooli["permissions"] == ["users.invite"]
    assert "jared@hooli.example" in hooli["reason"] and "billing.manage" in hooli["reason"]

    listed = await run_tool(desk, "check_admin_permissions", customer_id="cus_tyrell")
    assert listed["permissions"] == ["billing.manage"]
    assert "allowed" not in listed


async def test_check_admin_permissions_unknown_customer(desk):
    with pytest.raises(ToolError, match="no customer with id 'cus_x'; look customers up by id"):
        await run_tool(desk, "check_admin_permissions", customer_id="cus_x")
