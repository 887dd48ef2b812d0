"""One node that reports the run's context and the configurable values it sees, so tests can compare them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from .context import Context


class State(TypedDict, total=False):
    context: dict[str, Any] | None
    configured: dict[str, Any]


def report(state: State, runtime: Runtime[Context]) -> State:
    configurable = get_config().get("configurable", {})
    seen: dict[str, Any] = {key: configurable[key] for key in ("user_name", "greeting") if key in configurable}
    return {"context": asdict(runtime.context) if runtime.context is not None else None, "configured": seen}


builder = StateGraph(State, context_schema=Context)
builder.add_node("report", report)
builder.add_edge(START, "report")
builder.add_edge("report", END)
graph = builder.compile()
