"""A parent graph whose sub-graph asks a person before it acts (`interrupt`), resumed with `Command(resume=...)`."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    request: str
    decision: str
    outcome: str


def ask(state: State) -> State:
    answer = interrupt({"question": f"Approve {state.get('request', 'this')}?"})
    return {"decision": str(answer)}


def act(state: State) -> State:
    return {"outcome": "done" if state.get("decision") == "yes" else "skipped"}


review_builder = StateGraph(State)
review_builder.add_node("ask", ask)
review_builder.add_edge(START, "ask")
review_builder.add_edge("ask", END)
review = review_builder.compile()

builder = StateGraph(State)
builder.add_node("review", review)
builder.add_node("act", act)
builder.add_edge(START, "review")
builder.add_edge("review", "act")
builder.add_edge("act", END)
graph = builder.compile()
