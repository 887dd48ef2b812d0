"""A guardrail's report from inside a node moves its Prometheus counter by exactly one per occurrence; outside a run
it is a no-op, and other custom events move nothing."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks.manager import adispatch_custom_event
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from nodes.guardrails import report
from server.observability import metrics
from server.observability.guardrails import GuardrailEvents


class State(TypedDict):
    n: int


def count(guardrail: str, action: str) -> float:
    value = metrics.REGISTRY.get_sample_value("keel_guardrail_events_total", {"guardrail": guardrail, "action": action})
    return value or 0.0


async def test_each_report_in_a_node_counts_once():
    async def node(state: State) -> dict[str, Any]:
        await report("no_progress", "stopped", {"tool": "lookup_customer", "repeats": 3})
        await adispatch_custom_event("something_else", {"guardrail": "no_progress", "action": "stopped"})
        return {"n": state["n"] + 1}

    graph = StateGraph(State)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    before = count("no_progress", "stopped")
    await graph.compile().ainvoke({"n": 0}, {"callbacks": [GuardrailEvents()]})
    await graph.compile().ainvoke({"n": 0}, {"callbacks": [GuardrailEvents()]})
    assert count("no_progress", "stopped") - before == 2


async def test_outside_a_run_a_report_goes_nowhere():
    before = count("budget", "paused")
    await report("budget", "paused")
    assert count("budget", "paused") == before
