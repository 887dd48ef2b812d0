"""One node that reports which request headers reached `config["configurable"]` (LangGraph Server's
`http.configurable_headers`), as the docs show a graph reading them."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

PROBED = ("x-user-id", "my-prefix-team", "x-other", "user-agent", "x-api-key", "authorization", "x-secret-token")


class State(TypedDict, total=False):
    headers: dict[str, Any]


def report(state: State) -> State:
    configurable = get_config().get("configurable", {})
    return {"headers": {name: configurable[name] for name in PROBED if name in configurable}}


builder = StateGraph(State)
builder.add_node("report", report)
builder.add_edge(START, "report")
builder.add_edge("report", END)
graph = builder.compile()
