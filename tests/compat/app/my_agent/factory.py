"""A graph factory taking the run's config, as LangGraph's docs write one: LangGraph Server calls it for each
run, so the graph it builds can depend on that run's configurable values."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    reply: str


def make_graph(config: RunnableConfig) -> CompiledStateGraph[State, None, State, State]:
    persona = config.get("configurable", {}).get("persona", "plain")

    def answer(state: State) -> State:
        return {"reply": f"built for {persona}"}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile()
