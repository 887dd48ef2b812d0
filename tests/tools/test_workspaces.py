from __future__ import annotations

import pytest

from tests.tools.desk import count, rows, run_tool
from tools.spec import ToolError


async def test_create_workspace_in_the_customers_region(desk):
    result = await run_tool(desk, "create_workspace", customer_id="cus_nakatomi", name="Nakatomi Tower")
    assert result["region"] == "eu"
    [row] = await rows(desk, "SELECT * FROM desk.workspaces WHERE customer_id = 'cus_nakatomi'")
    assert (row["workspace_id"], row["name"], row["region"]) == (result["workspace_id"], "Nakatomi Tower", "eu")
    assert row["workspace_id"].startswith("ws_")


async def test_create_workspace_in_another_region(desk):
    result = await run_tool(desk, "create_workspace", customer_id="cus_acme", name="Acme Europe", region="eu")
    assert result["region"] == "eu"
    assert await count(desk, "SELECT count(*) FROM desk.workspaces WHERE customer_id = 'cus_acme'") == 3


async def test_create_workspace_once_per_key(desk):
    first = await run_tool(desk, "create_workspace", key="k-ws", customer_id="cus_acme", name="Acme Data")
    again = await run_tool(desk, "create_workspace", key="k-ws", customer_id="cus_acme", name="Acme Data")
    assert again == first
    assert await count(desk, "SELECT count(*) FROM desk.workspaces WHERE name = 'Acme Data'") == 1
    [effect] = await rows(desk, "SELECT tool, result FROM desk.tool_effects WHERE idempotency_key = 'k-ws'")
    assert effect == {"tool": "create_workspace", "result": first}


async def test_two_keys_make_two_workspaces(desk):
    a = await run_tool(desk, "create_workspace", key="k-1", customer_id="cus_acme", name="Team A")
    b = await run_tool(desk, "create_workspace", key="k-2", customer_id="cus_acme", name="Team B")
    assert a["workspace_id"] != b["workspace_id"]
    assert await count(desk, "SELECT count(*) FROM desk.workspaces WHERE customer_id = 'cus_acme'") == 4


@pytest.mark.parametrize(
    ("customer_id", "name", "message"),
    [
        ("cus_acme", "acme main", "already has a workspace named 'acme main'; pick another name"),
        ("cus_soylent", "Second kitchen", "1 of the 1 workspace\\(s\\) its free plan allows"),
        ("cus_hooli", "Hooli Labs", "cannot create a workspace: Jared Dunn <jared@hooli.example>.*'workspaces.create'"),
        ("cus_tyrell", "Tyrell Two", "role 'billing' without the 'workspaces.create' permission"),
        ("cus_none", "X", "no customer with id 'cus_none'"),
    ],
)
async def test_create_workspace_refusals_write_nothing(desk, customer_id, name, message):
    before = await count(desk, "SELECT count(*) FROM desk.workspaces")
    with pytest.raises(ToolError, match=message):
        await run_tool(desk, "create_workspace", customer_id=customer_id, name=name)
    assert await count(desk, "SELECT count(*) FROM desk.workspaces") == before
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 0


async def test_the_plan_limit_holds_under_concurrent_creates(desk):
    import asyncio

    # Initech (starter) has 1 of 3 workspaces: of four racing creates, exactly two may succeed.
    results = await asyncio.gather(
        *(run_tool(desk, "create_workspace", customer_id="cus_initech", name=f"Team {i}") for i in range(4)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, dict) for r in results) == 2
    assert all(isinstance(r, dict) or "workspace(s) its starter plan allows" in str(r) for r in results)
    assert await count(desk, "SELECT count(*) FROM desk.workspaces WHERE customer_id = 'cus_initech'") == 3
