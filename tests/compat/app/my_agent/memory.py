"""A graph that remembers across threads through the store LangGraph Server gives it (`runtime.store`)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    user: str
    note: str
    remembered: list[str]


async def remember(state: State, runtime: Runtime[None]) -> State:
    assert runtime.store is not None, "no store was given to the graph"
    namespace = ("memories", state.get("user", "anonymous"))
    if note := state.get("note"):
        await runtime.store.aput(namespace, note, {"note": note})
    items = await runtime.store.asearch(namespace)
    return {"remembered": sorted(item.value["note"] for item in items)}


builder = StateGraph(State)
builder.add_node("remember", remember)
builder.add_edge(START, "remember")
builder.add_edge("remember", END)
graph = builder.compile()
