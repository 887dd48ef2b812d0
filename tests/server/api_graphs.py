"""Small graphs that are not keel's, for the assistants/threads/graph-loading tests.

Tests copy this file into a temporary folder next to a langgraph.json that names its attributes.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class ChatState(MessagesState):
    steps: Annotated[list[str], operator.add]


def greet(state: ChatState) -> dict[str, Any]:
    return {"messages": [AIMessage("hello", id="ai-1")], "steps": ["greet"]}


def finish(state: ChatState) -> dict[str, Any]:
    return {"steps": ["finish"]}


chat = StateGraph(ChatState)  # a builder: keel compiles it
chat.add_node("greet", greet)
chat.add_node("finish", finish)
chat.add_edge(START, "greet")
chat.add_edge("greet", "finish")
chat.add_edge("finish", END)

own_saver = chat.compile(checkpointer=InMemorySaver(), name="own_saver")  # keel must replace the saver


def make_chat(config: dict[str, Any]) -> Any:  # a factory taking the config
    return chat.compile(name="from_factory")


def make_chat_no_args() -> Any:
    return chat


class AskState(TypedDict, total=False):
    question: str
    answer: str


def ask(state: AskState) -> dict[str, Any]:
    return {"answer": interrupt({"question": state.get("question", "?")})}


asker = StateGraph(AskState)
asker.add_node("ask", ask)
asker.add_edge(START, "ask")
ask_graph = asker.compile()


class ParentState(TypedDict, total=False):
    question: str
    answer: str
    done: bool


def prep(state: ParentState) -> dict[str, Any]:
    return {"question": "ship it?"}


def wrap_up(state: ParentState) -> dict[str, Any]:
    return {"done": True}


parent = StateGraph(ParentState)
parent.add_node("prep", prep)
parent.add_node("sub", ask_graph)
parent.add_node("wrap_up", wrap_up)
parent.add_edge(START, "prep")
parent.add_edge("prep", "sub")
parent.add_edge("sub", "wrap_up")
nested = parent.compile()

GRAPHS = {
    "chat": "./api_graphs.py:chat",
    "own_saver": "./api_graphs.py:own_saver",
    "factory": "./api_graphs.py:make_chat",
    "factory_no_args": "./api_graphs.py:make_chat_no_args",
    "ask": "./api_graphs.py:ask_graph",
    "nested": "./api_graphs.py:nested",
}
