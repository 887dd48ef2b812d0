"""Tool-argument policies (tools/policies.py) on the support graph with the offline model: a refund above what is
left on the invoice is refused before any approval is asked, and an edit that breaks the policy is refused before
it runs; the model reads the reason as the tool's error, nothing is written, and `tool_policy` is reported once."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from tests.graphs.guardrail_reports import Reports
from tests.graphs.harness import Desk

OVER_REMAINING = "Refund $500 of invoice inv_acme_2026_11 for cus_acme"  # the invoice is $199
SMALL = "Refund $5 of invoice inv_acme_2026_11 for cus_acme"


async def run(desk: Desk, thread_id: str, payload: Any, reports: Reports) -> list[ToolMessage]:
    """Every ToolMessage of the run, from the worker sub-graphs too."""
    config: RunnableConfig = desk.config(thread_id) | {"callbacks": [reports]}
    seen: list[ToolMessage] = []
    item: Any  # (namespace, updates) with subgraphs=True
    async for item in desk.graph.astream(
        payload, config, context=desk.context, stream_mode="updates", subgraphs=True, durability="sync"
    ):
        for node in item[1].values():
            if isinstance(node, dict):  # not the `__interrupt__` tuple
                seen += [m for m in node.get("messages", []) if isinstance(m, ToolMessage)]
    return seen


async def refunds(desk: Desk) -> int:
    [row] = await desk.rows("SELECT count(*) AS n FROM desk.refunds WHERE invoice_id = 'inv_acme_2026_11'")
    return int(row["n"])


async def test_a_refund_above_what_is_left_is_refused_before_any_approval(support: Desk) -> None:
    t, reports, before = str(uuid.uuid4()), Reports(), await refunds(support)
    seen = await run(support, t, {"messages": [HumanMessage(OVER_REMAINING)]}, reports)
    assert await support.interrupts(t) == []
    [refused] = [m for m in seen if m.name == "issue_refund"]
    assert refused.status == "error"
    assert "refund_within_invoice" in str(refused.content) and "199.00 USD left to refund" in str(refused.content)
    assert await refunds(support) == before
    [(action, detail)] = reports.of("tool_policy")
    assert (action, detail["tool"], detail["policy"], detail["agent"]) == (
        "refused",
        "issue_refund",
        "refund_within_invoice",
        "billing",
    )


async def test_an_edit_that_breaks_a_policy_is_refused_before_it_runs(support: Desk) -> None:
    t, reports, before = str(uuid.uuid4()), Reports(), await refunds(support)
    await run(support, t, {"messages": [HumanMessage(SMALL)]}, reports)
    [pending] = await support.interrupts(t)
    assert reports.of("tool_policy") == []  # $5 passes
    edit = {"type": "edit", "args": {**pending.value["args"], "amount": 500.0}}
    seen = await run(support, t, Command(resume=edit), reports)
    [refused] = [m for m in seen if m.name == "issue_refund"]
    assert refused.status == "error" and "refund_within_invoice" in str(refused.content)
    assert await refunds(support) == before
    assert [action for action, _ in reports.of("tool_policy")] == ["refused"]
