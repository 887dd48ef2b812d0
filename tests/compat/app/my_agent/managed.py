"""A graph factory as LangGraph's docs write one for resources a run needs: an async context manager taking the
`ServerRuntime`, opening a connection only when the graph is about to run (`execution_runtime`) and closing it
after the run."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict

OPEN: set[str] = set()  # connections opened and not closed yet


class State(TypedDict, total=False):
    reply: str
    open_connections: int


Graph = CompiledStateGraph[State, None, State, State]


def build(connection: str | None) -> Graph:
    def answer(state: State) -> State:
        return {"reply": connection or "no connection", "open_connections": len(OPEN)}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile()


@contextlib.asynccontextmanager
async def make_graph(runtime: ServerRuntime[dict[str, Any]]) -> AsyncIterator[Graph]:
    run = runtime.execution_runtime
    if run is None:  # schemas, state reads: same graph, no connection
        yield build(None)
        return
    connection = str(uuid.uuid4())
    OPEN.add(connection)
    try:
        yield build(f"connected for {(run.context or {}).get('user_name', 'nobody')}")  # the run's context, as sent
    finally:
        OPEN.discard(connection)
