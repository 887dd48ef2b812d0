"""The support graph end to end on real PostgreSQL with the offline model: answers and desk rows."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from graphs.support import WORKERS, build
from tests.graphs.harness import Desk, answer, open_desk


def thread() -> str:
    return str(uuid.uuid4())


async def test_a_greeting_needs_no_tool(support: Desk) -> None:
    values = await support.ask(thread(), "Hello!")
    assert answer(values).startswith("Hello! I'm keel's offline model")
    assert not any(isinstance(m, ToolMessage) for m in values["messages"])


async def test_billing_status_is_delegated_to_billing(support: Desk) -> None:
    values = await support.ask(thread(), "What is the billing status of cus_initech?")
    calls = [c["name"] for m in values["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls == ["ask_billing"]
    assert "status': 'past_due'" in answer(values)
    assert "balance_due: 98.0" in answer(values)


async def test_how_to_question_is_answered_from_the_knowledge_base(support: Desk) -> None:
    values = await support.ask(thread(), "How do I set up SSO for my team?")
    assert "ask_knowledge" in answer(values)
    assert "sso-setup" in answer(values)


async def test_workspace_is_created_once_with_the_quoted_name(support: Desk) -> None:
    values = await support.ask(thread(), 'Please create a workspace "Acme Sandbox" for cus_acme')
    rows = await support.rows("SELECT workspace_id, region FROM desk.workspaces WHERE name = %s", "Acme Sandbox")
    assert len(rows) == 1
    assert rows[0]["workspace_id"] in answer(values)


async def test_unknown_customer_comes_back_as_a_tool_error(support: Desk) -> None:
    values = await support.ask(thread(), "What is the billing status of cus_nobody?")
    assert "check_billing_status failed" in answer(values)
    assert "no customer with id 'cus_nobody'" in answer(values)


async def test_invalid_arguments_are_explained_not_raised(support: Desk) -> None:
    before = await support.rows("SELECT count(*) AS n FROM desk.workspaces")
    values = await support.ask(thread(), "Create a new workspace for cus_acme")
    assert "invalid arguments for create_workspace: name: Field required" in answer(values)
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
    invoice_refunds = "SELECT refund_id, amount_cents FROM desk.refunds WHERE invoice_id = 'inv_initech_2026_09'"
    assert await support.rows(invoice_refunds) == []
    values = await support.resume(t, {"type": "accept"})
    refunds = await support.rows(invoice_refunds)
    assert [r["amount_cents"] for r in refunds] == [4900]
    assert refunds[0]["refund_id"] in answer(values)


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
THROWAWAY_AGENT = '''
from nodes.tool_agent import tool_agent
from nodes.spec import NodeSpec

TOOLS = ("calculator",)
PROMPT = """You estimate costs. Tools:
- calculator: arithmetic (keywords: estimate)
"""
SPEC = NodeSpec(
    name="estimator",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Estimates costs.",
    tools=TOOLS,
    keywords=("estimate",),
)
'''


async def test_an_agent_added_as_one_file_and_one_worker_line_runs(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "estimator_agent.py").write_text(THROWAWAY_AGENT)  # the one file
    monkeypatch.syspath_prepend(str(tmp_path))
    import estimator_agent  # type: ignore[import-not-found]

    monkeypatch.delitem(sys.modules, "estimator_agent")
    async with open_desk(database_url, lambda: build((*WORKERS, estimator_agent.SPEC))) as desk:  # the one line
        values = await desk.ask(thread(), "Estimate 12 * 49 for me")
    calls = [c["name"] for m in values["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls == ["ask_estimator"]
    assert "588" in answer(values)


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
