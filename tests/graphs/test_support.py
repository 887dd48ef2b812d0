"""The support graph end to end on real PostgreSQL: with the offline model, which tools ran, what they returned
and the desk rows they wrote; with a scripted model (tests/scripted_model.py), how an added agent is wired in."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from graphs.support import WORKERS, build
from nodes.approval import needs_two_people
from tests.graphs.harness import Desk, answer, open_desk, result, tool_calls
from tests.scripted_model import ScriptedModels, Turn, call
from tools.limits import Limits


def thread() -> str:
    return str(uuid.uuid4())


async def test_a_greeting_needs_no_tool(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "Hello!")
    assert results == []
    assert tool_calls(values) == []
    assert answer(values)


async def test_billing_status_is_delegated_to_billing(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "What is the billing status of cus_initech?")
    assert tool_calls(values) == ["ask_billing"]
    status = result(results, "check_billing_status").artifact  # called by the billing worker
    assert status["subscription"]["status"] == "past_due"
    assert status["balance_due"] == 98.0


async def test_how_to_question_is_answered_from_the_knowledge_base(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "How do I set up SSO for my team?")
    assert "ask_knowledge" in tool_calls(values)
    assert "sso-setup" in [hit["article"] for hit in result(results, "search_docs").artifact["results"]]


async def test_workspace_is_created_once_with_the_quoted_name(support: Desk) -> None:
    _, results = await support.ask_and_trace(thread(), 'Please create a workspace "Acme Sandbox" for cus_acme')
    rows = await support.rows("SELECT workspace_id, region FROM desk.workspaces WHERE name = %s", "Acme Sandbox")
    assert len(rows) == 1
    assert result(results, "create_workspace").artifact["workspace_id"] == rows[0]["workspace_id"]


async def test_unknown_customer_comes_back_as_a_tool_error(support: Desk) -> None:
    _, results = await support.ask_and_trace(thread(), "What is the billing status of cus_nobody?")
    failed = result(results, "check_billing_status")
    assert failed.status == "error"
    assert "no customer with id 'cus_nobody'" in str(failed.content)


async def test_invalid_arguments_are_explained_not_raised(support: Desk) -> None:
    before = await support.rows("SELECT count(*) AS n FROM desk.workspaces")
    _, results = await support.ask_and_trace(thread(), "Create a new workspace for cus_acme")
    refused = result(results, "create_workspace")
    assert refused.status == "error"
    assert "invalid arguments for create_workspace: name: Field required" in str(refused.content)
    assert await support.rows("SELECT count(*) AS n FROM desk.workspaces") == before


async def test_refund_waits_for_approval_then_runs_once(support: Desk) -> None:
    t = thread()
    await support.ask(t, "Refund $49 of invoice inv_initech_2026_09 for cus_initech, they were double charged")
    [pending] = await support.interrupts(t)
    assert pending.value["tool"] == "issue_refund"
    assert pending.value["agent"] == "billing"
    assert pending.value["args"] == {
        "customer_id": "cus_initech",
        "invoice_id": "inv_initech_2026_09",
        "amount": 49.0,
        "reason": "Refund $49 of invoice inv_initech_2026_09 for cus_initech, they were double charged",
    }
    # Who may decide: the default permission, one person is enough, and no identity started this run.
    assert (pending.value["permission"], pending.value["two_person"], pending.value["requested_by"]) == (
        "approvals:decide",
        False,
        "",
    )
    invoice_refunds = "SELECT refund_id, amount_cents FROM desk.refunds WHERE invoice_id = 'inv_initech_2026_09'"
    assert await support.rows(invoice_refunds) == []
    await support.resume(t, {"type": "accept"})
    refunds = await support.rows(invoice_refunds)
    assert [r["amount_cents"] for r in refunds] == [4900]


async def test_a_large_refund_asks_for_a_second_person_and_names_who_asked(support: Desk) -> None:
    t = thread()
    config = support.config(t)
    config["configurable"]["langgraph_auth_user_id"] = "alice"  # as LangGraph Server puts the run's user
    request = "Refund $1500 of invoice inv_globex_2026_q4 for cus_globex, the seats were never used"
    await support.graph.ainvoke({"messages": [HumanMessage(request)]}, config, context=support.context)
    [pending] = await support.interrupts(t)
    assert pending.value["tool"] == "issue_refund" and pending.value["args"]["amount"] == 1500.0
    assert pending.value["two_person"] is True
    assert pending.value["requested_by"] == "alice"
    # An edit below the threshold would not need two people; one above it does, whatever was proposed.
    assert (
        needs_two_people(
            {**pending.value, "two_person": False},
            {"type": "edit", "args": {**pending.value["args"], "amount": 999.0}},
            Limits(),
        )
        is False
    )
    assert (
        needs_two_people(
            {**pending.value, "two_person": False}, {"type": "edit", "args": pending.value["args"]}, Limits()
        )
        is True
    )
    assert needs_two_people(pending.value, {"type": "reject", "reason": "no"}, Limits()) is True
    # The deployment's threshold (KEEL_TWO_PERSON_REFUND_USD) decides for edits: $999 is two-person from $100 on.
    edit_999 = {"type": "edit", "args": {**pending.value["args"], "amount": 999.0}}
    assert needs_two_people({**pending.value, "two_person": False}, edit_999, Limits(two_person_refund_usd=100)) is True


async def test_two_approvals_in_parallel_branches_resume_with_an_id_map(support: Desk) -> None:
    t = thread()
    await support.ask(t, "Upgrade cus_nakatomi to the pro plan and email them a welcome note")
    pending = await support.interrupts(t)
    assert sorted(p.value["tool"] for p in pending) == ["enable_paid_plan", "send_external_message"]
    assert len({p.id for p in pending}) == 2
    await support.resume(t, {p.id: {"type": "accept"} for p in pending})
    assert await support.interrupts(t) == []
    plan = await support.rows("SELECT plan_tier FROM desk.customers WHERE customer_id = 'cus_nakatomi'")
    assert plan == [{"plan_tier": "pro"}]
    assert len(await support.rows("SELECT * FROM desk.outbox WHERE customer_id = 'cus_nakatomi'")) == 1


async def test_step_limit_ends_with_an_explanation(database_url: str) -> None:
    async with open_desk(database_url, build, max_steps=1) as desk:
        values = await desk.ask(thread(), "What is the billing status of cus_initech?")
    assert "step limit (1 steps)" in answer(values)


# Not named `pricing`: that is the README's example agent, which a reader may have added to nodes/ for real.
THROWAWAY_AGENT = """
from nodes.tool_agent import tool_agent
from nodes.spec import NodeSpec

TOOLS = ("calculator",)
SPEC = NodeSpec(
    name="estimator",
    fn=tool_agent(prompt="You estimate costs with the calculator.", tools=TOOLS),
    description="Estimates costs.",
    tools=TOOLS,
)
"""


def estimating(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    """The supervisor hands the request to the estimator, which uses the calculator; both then answer."""
    if "ask_estimator" in turn.tools:
        return AIMessage("It comes to 588.") if turn.results else call("ask_estimator", request="12 * 49")
    if "calculator" in turn.tools:
        return AIMessage("588") if turn.results else call("calculator", expression="12 * 49")
    raise AssertionError(f"unexpected turn: {turn}")


async def test_an_agent_added_as_one_file_and_one_worker_line_runs(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "estimator_agent.py").write_text(THROWAWAY_AGENT)  # the one file
    monkeypatch.syspath_prepend(str(tmp_path))
    import estimator_agent  # type: ignore[import-not-found]

    monkeypatch.delitem(sys.modules, "estimator_agent")
    models = ScriptedModels(estimating)
    async with open_desk(database_url, lambda: build((*WORKERS, estimator_agent.SPEC)), models=models) as desk:
        values, results = await desk.ask_and_trace(thread(), "Estimate 12 * 49 for me")  # the one line
    assert tool_calls(values) == ["ask_estimator"]
    assert result(results, "calculator").artifact["result"] == 588
    assert result(results, "ask_estimator").content == "588"
    assert answer(values) == "It comes to 588."


async def test_a_preferred_channel_is_remembered_across_threads(support: Desk) -> None:
    first = await support.ask(thread(), "Remember that cus_initech prefers phone.")
    calls = [c for m in first["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert [(c["name"], c["args"]) for c in calls] == [
        ("remember_preferred_channel", {"customer_id": "cus_initech", "channel": "phone"})
    ]

    later = await support.ask(thread(), "Who is cus_initech?")
    records = [m.artifact for m in later["messages"] if isinstance(m, ToolMessage) and m.name == "lookup_customer"]
    assert [record["preferred_channel"] for record in records] == ["phone"]
    others = await support.ask(thread(), "Who is cus_acme?")
    assert all("preferred_channel" not in m.artifact for m in others["messages"] if isinstance(m, ToolMessage))


async def test_two_approvals_in_one_turn_are_one_interrupt_decided_in_order(support: Desk) -> None:
    t = thread()
    await support.ask(t, "Upgrade cus_tyrell to the pro plan and refund $3 of invoice inv_tyrell_2026_11")
    [pending] = await support.interrupts(t)
    assert [a["name"] for a in pending.value["action_requests"]] == ["enable_paid_plan", "issue_refund"]
    assert pending.value["agent"] == "billing"
    amount = pending.value["review_configs"][1]["args_schema"]["properties"]["amount"]
    assert amount["type"] == "number"
    refund = pending.value["action_requests"][1]
    edited = {"name": "issue_refund", "args": {**refund["args"], "amount": " 2 "}}  # as a form sends a number
    await support.resume(
        t, {"decisions": [{"type": "reject", "message": "stay on starter"}, {"type": "edit", "edited_action": edited}]}
    )
    assert await support.interrupts(t) == []
    refunds = await support.rows("SELECT amount_cents FROM desk.refunds WHERE invoice_id = 'inv_tyrell_2026_11'")
    assert [r["amount_cents"] for r in refunds] == [200]
    plan = await support.rows("SELECT plan_tier FROM desk.customers WHERE customer_id = 'cus_tyrell'")
    assert plan == [{"plan_tier": "starter"}]


async def test_contract_terms_are_answered_by_the_contracts_agent(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "What are the contract terms of cus_globex?")
    assert tool_calls(values) == ["ask_contracts"]
    terms = result(results, "lookup_contract_terms").artifact
    assert (terms["sla_uptime"], terms["payment_terms"]) == ("99.95%", "net 45")
    assert "net 45" in answer(values)


async def test_a_customer_named_without_an_id_or_quotes_is_looked_up_and_handed_on_by_id(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "What is the billing status of Initech?")
    assert tool_calls(values) == ["lookup_customer", "ask_billing"]
    assert result(results, "check_billing_status").artifact["balance_due"] == 98.0


async def test_an_ambiguous_request_gets_a_question_not_a_tool_error(support: Desk) -> None:
    values, results = await support.ask_and_trace(thread(), "I want a refund.")
    assert [m.name for m in results] == ["ask_billing"]  # the billing agent called no tool
    assert "Which customer do you mean?" in answer(values)


async def test_a_follow_up_about_the_same_customer_is_handed_on_with_its_id(support: Desk) -> None:
    t = thread()
    await support.ask(t, "Who is cus_soylent?")
    await support.ask(t, "Please upgrade them to the starter plan")
    [pending] = await support.interrupts(t)
    assert (pending.value["tool"], pending.value["args"]) == (
        "enable_paid_plan",
        {"customer_id": "cus_soylent", "plan": "starter"},
    )
