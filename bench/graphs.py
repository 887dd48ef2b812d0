"""The graphs the benchmark runs besides keel's own: trivial nodes, so that what is measured is keel.

- `linear`: five nodes in a row, each adds 1 to `x` (the in-process floor and the served runs).
- `ask`: one node that pauses at `interrupt()` and echoes the answer (resume latency).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

NODES = ("one", "two", "three", "four", "five")


class LinearState(TypedDict):
    x: int


def _add_one(state: LinearState) -> dict[str, Any]:
    return {"x": state["x"] + 1}


def build_linear() -> StateGraph[LinearState, None, LinearState, LinearState]:
    graph = StateGraph(LinearState)
    previous = START
    for name in NODES:
        graph.add_node(name, _add_one)
        graph.add_edge(previous, name)
        previous = name
    return graph


class AskState(TypedDict):
    question: str
    answer: str


def _ask(state: AskState) -> dict[str, Any]:
    return {"answer": f"answer: {interrupt({'question': state['question']})}"}


def build_ask() -> StateGraph[AskState, None, AskState, AskState]:
    graph = StateGraph(AskState)
    graph.add_node("ask", _ask)
    graph.add_edge(START, "ask")
    return graph


linear = build_linear()
ask = build_ask()
