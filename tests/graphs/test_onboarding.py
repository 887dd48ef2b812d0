"""The onboarding graph end to end on real PostgreSQL with the offline model: routes, tool results, desk rows."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.types import StateSnapshot

from tests.graphs.harness import Desk, answer, result


def thread() -> str:
    return str(uuid.uuid4())


async def test_a_greeting_needs_no_tool_and_routes_nowhere(onboarding: Desk) -> None:
    values, results = await onboarding.ask_and_trace(thread(), "Hello!")
    assert results == []
    assert "route" not in values


async def test_unknown_customer_ends_at_intake_with_the_tool_error(onboarding: Desk) -> None:
    values, results = await onboarding.ask_and_trace(thread(), "Please onboard nobody@nowhere.example")
    assert "route" not in values
    lookup = result(results, "lookup_customer")
    assert lookup.status == "error"
    assert "no customer matches 'nobody@nowhere.example'" in str(lookup.content)


async def test_standard_setup_creates_each_quoted_workspace(onboarding: Desk) -> None:
    values, results = await onboarding.ask_and_trace(
        thread(), 'Set up workspaces "Acme Data" and "Acme QA" for cus_acme'
    )
    assert values["route"] == "standard_setup"
    rows = await onboarding.rows(
        "SELECT workspace_id, name FROM desk.workspaces WHERE customer_id = 'cus_acme' AND name LIKE 'Acme %%' "
        "AND workspace_id NOT IN ('ws_acme_main', 'ws_acme_staging') ORDER BY name"
    )
    assert [r["name"] for r in rows] == ["Acme Data", "Acme QA"]
    created = [m.artifact["workspace_id"] for m in results if m.name == "create_workspace"]
    assert sorted(created) == sorted(r["workspace_id"] for r in rows)


async def test_existing_workspace_name_is_a_tool_error_not_a_crash(onboarding: Desk) -> None:
    values, results = await onboarding.ask_and_trace(thread(), 'Set up a workspace "Acme Main" for cus_acme')
    assert values["route"] == "standard_setup"
    assert result(results, "create_workspace").status == "error"
    assert len(await onboarding.rows("SELECT 1 FROM desk.workspaces WHERE lower(name) = 'acme main'")) == 1


async def test_past_due_customer_goes_to_billing_review_and_gets_a_ticket(onboarding: Desk) -> None:
    values, results = await onboarding.ask_and_trace(thread(), 'Onboard cus_initech with a workspace "Ops"')
    assert values["route"] == "billing_review"
    tickets = await onboarding.rows(
        "SELECT ticket_id FROM desk.tickets WHERE customer_id = 'cus_initech' AND subject LIKE 'Billing review%%'"
    )
    assert len(tickets) == 1
    assert result(results, "open_ticket").artifact["ticket_id"] == tickets[0]["ticket_id"]
    assert await onboarding.rows("SELECT 1 FROM desk.workspaces WHERE name = 'Ops'") == []


async def test_two_approvals_in_one_turn_are_one_interrupt_answered_by_one_decisions_list(onboarding: Desk) -> None:
    t = thread()
    values = await onboarding.ask(t, "Upgrade cus_nakatomi to the pro plan and send a welcome email")
    assert values["route"] == "standard_setup"
    [pending] = await onboarding.interrupts(t)  # one model turn, one interrupt (as LangChain's HITL middleware)
    tools = ["enable_paid_plan", "send_external_message"]
    assert [a["name"] for a in pending.value["action_requests"]] == tools
    assert [c["action_name"] for c in pending.value["review_configs"]] == tools
    assert all(c["allowed_decisions"] == ["approve", "edit", "reject"] for c in pending.value["review_configs"])
    assert [c["tool"] for c in pending.value["calls"]] == tools and pending.value["agent"] == "standard_setup"
    # A list of the wrong length does not end the approval: it asks again, saying why.
    await onboarding.resume(t, {"decisions": [{"type": "approve"}]})
    [again] = await onboarding.interrupts(t)
    assert "1 decisions for 2 action request(s)" in again.value["error"]
    # Resumed without an id, in order: LangChain's approve, then keel's own reject.
    values = await onboarding.resume(t, {"decisions": [{"type": "approve"}, {"type": "reject", "reason": "not yet"}]})
    assert await onboarding.interrupts(t) == []
    customer = await onboarding.rows("SELECT plan_tier FROM desk.customers WHERE customer_id = 'cus_nakatomi'")
    assert customer == [{"plan_tier": "pro"}]
    assert await onboarding.rows("SELECT 1 FROM desk.outbox WHERE customer_id = 'cus_nakatomi'") == []
    assert "not yet" in answer(values)


async def test_enterprise_setup_checks_in_parallel_plans_revises_and_executes(onboarding: Desk) -> None:
    t = thread()
    request = 'Onboard Globex (cus_globex): create workspace "Globex Analytics" and email the admin a welcome note'
    await onboarding.ask(t, request)
    state = await onboarding.graph.aget_state(onboarding.config(t), subgraphs=True)
    inner = state.tasks[0].state  # the enterprise_setup sub-graph's own snapshot
    assert isinstance(inner, StateSnapshot)
    values: dict[str, Any] = inner.values
    assert state.values["route"] == "enterprise_setup"
    assert set(values["checks"]) == {"billing_check", "permissions_check", "contract_check"}
    assert values["checks"]["contract_check"]["customer_id"] == "cus_globex"
    # The first plan left the region out; the validator said "use region=eu"; the revision fixed it.
    feedback = [m for m in values["planner"] if isinstance(m, ToolMessage)]
    assert any("use region=eu" in str(m.content) for m in feedback if m.status == "error")
    assert values["revisions"] == 2
    assert {
        "tool": "create_workspace",
        "args": {"customer_id": "cus_globex", "name": "Globex Analytics", "region": "eu"},
    } in values["plan"]
    # The workspace is written by the executor; the email waits for a person.
    [pending] = await onboarding.interrupts(t)
    assert pending.value["tool"] == "send_external_message"
    assert pending.value["agent"] == "executor"
    workspace = await onboarding.rows(
        "SELECT workspace_id, region FROM desk.workspaces WHERE name = 'Globex Analytics'"
    )
    assert [w["region"] for w in workspace] == ["eu"]
    final = await onboarding.resume(t, {"type": "accept"})
    assert len(await onboarding.rows("SELECT 1 FROM desk.outbox WHERE customer_id = 'cus_globex'")) == 1
    assert workspace[0]["workspace_id"] in answer(final)
