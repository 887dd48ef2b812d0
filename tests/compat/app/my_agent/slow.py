"""A graph that takes `seconds` to finish, for runs that must still be running (cancel, waits, keepalives)."""

from __future__ import annotations

import asyncio

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    seconds: float
    done: bool


async def work(state: State) -> State:
    await asyncio.sleep(state.get("seconds", 60))
    return {"done": True}


builder = StateGraph(State)
builder.add_node("work", work)
builder.add_edge(START, "work")
builder.add_edge("work", END)
graph = builder.compile()
