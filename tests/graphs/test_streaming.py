"""Sub-graph streaming: tokens and node updates from inside sub-graphs arrive with their namespace (a scripted
model says what each agent does and says; the enterprise route runs on the offline model)."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from tests.graphs.harness import Desk
from tests.scripted_model import ScriptedModels, Turn, call


async def stream(desk: Desk, request: str) -> list[tuple[tuple[str, ...], str, Any]]:
    config = desk.config(str(uuid.uuid4()))
    items: list[tuple[tuple[str, ...], str, Any]] = []
    async for item in desk.graph.astream(
        {"messages": [HumanMessage(request)]},
        config,
        context=desk.context,
        stream_mode=["messages", "updates"],
        subgraphs=True,
        durability="sync",
    ):
        ns, mode, data = item  # with a list of modes and subgraphs=True: (namespace, mode, data)
        items.append((tuple(ns), str(mode), data))
    return items


BILLING_ANSWER = "cus_initech is past due with 98.0 owed"
SUPERVISOR_ANSWER = "Billing says the account is past due."


def billing_desk(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    """The supervisor asks billing; billing checks the status; each then answers in words of the test's own."""
    if "ask_billing" in turn.tools:
        return AIMessage(SUPERVISOR_ANSWER) if turn.results else call("ask_billing", request="status of cus_initech")
    if "check_billing_status" in turn.tools:
        return AIMessage(BILLING_ANSWER) if turn.results else call("check_billing_status", customer_id="cus_initech")
    raise AssertionError(f"unexpected turn: {turn}")


async def test_worker_tokens_and_updates_carry_the_worker_namespace(support: Desk) -> None:
    support.models = ScriptedModels(billing_desk)
    items = await stream(support, "What is the billing status of cus_initech?")
    inner = [(ns, mode, data) for ns, mode, data in items if ns and ns[0].startswith("billing:")]
    inner_updates = [data for _, mode, data in inner if mode == "updates"]
    assert {"agent", "tools"} <= {node for update in inner_updates for node in update}
    tokens = [str(d[0].content) for _, mode, d in inner if mode == "messages" and isinstance(d[0], AIMessageChunk)]
    assert [t for t in tokens if t] == [f"{w} " for w in BILLING_ANSWER.split()[:-1]] + ["owed"]  # word by word
    metadata = next(data[1] for _, mode, data in inner if mode == "messages")
    assert metadata["langgraph_node"] == "agent"
    assert metadata["langgraph_checkpoint_ns"].startswith("billing:")
    # The supervisor's own tokens come from the root namespace.
    root = [data[0] for ns, mode, data in items if not ns and mode == "messages"]
    assert "".join(str(m.content) for m in root if isinstance(m, AIMessageChunk)) == SUPERVISOR_ANSWER


async def test_enterprise_branches_stream_with_their_namespace(onboarding: Desk) -> None:
    items = await stream(onboarding, 'Onboard cus_wayne: create workspace "Wayne Labs"')
    spaces = {ns[0].split(":")[0] for ns, _, _ in items if ns}
    assert {"intake", "enterprise_setup"} <= spaces
    updates = [data for ns, mode, data in items if mode == "updates" and ns and ns[0].startswith("enterprise_setup:")]
    nodes_seen = {node for update in updates for node in update}
    assert {"billing_check", "permissions_check", "contract_check", "planner", "executor", "report"} <= nodes_seen
