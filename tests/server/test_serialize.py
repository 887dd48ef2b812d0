"""`to_json_compatible`: graph values as LangGraph Server shows them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import NamedTuple

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command, Interrupt, Send

from server.serialize import dumps, to_json_compatible


class Color(Enum):
    RED = "red"


class Point(NamedTuple):
    x: int
    y: int


def test_values_become_plain_json():
    uid = uuid.UUID(int=1)
    value = {
        "messages": [HumanMessage("hi", id="h"), AIMessage("yo", id="a", tool_calls=[])],
        "interrupt": Interrupt({"q": 1}, id="i-1"),
        "send": Send("node", {"k": (1, 2)}),
        "command": Command(resume="yes"),
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ids": {uid},
        "color": Color.RED,
        "point": Point(1, 2),
        "blob": b"\x00\x01",
        "error": ValueError("bad"),
        1: "int key",
    }
    data = to_json_compatible(value)
    assert isinstance(data, dict)
    human, ai = data["messages"]
    assert (human["type"], human["content"], human["id"]) == ("human", "hi", "h")
    assert (ai["type"], ai["tool_calls"]) == ("ai", [])
    assert data["interrupt"] == {"value": {"q": 1}, "id": "i-1"}
    assert data["send"] == {"node": "node", "arg": {"k": [1, 2]}}
    assert data["command"]["resume"] == "yes"
    assert data["when"] == "2026-01-02T03:04:05+00:00"
    assert data["ids"] == [str(uid)]
    assert (data["color"], data["point"], data["blob"]) == ("red", {"x": 1, "y": 2}, "AAE=")
    assert data["error"] == {"error": "ValueError", "message": "bad"}
    assert data["1"] == "int key"
    assert json.loads(dumps(value)) == data
