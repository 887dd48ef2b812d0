"""nodes/budget.py without a server: the answers it accepts, and the gate in a LangGraph graph with a fake meter
(a node re-run on resume reports "paused" only for an interrupt that really pauses)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command
from typing_extensions import TypedDict

from nodes.budget import answer_problem, gate, is_budget
from nodes.classifier import classifier
from nodes.context import Context
from nodes.guardrails import EVENT
from nodes.planner import planner
from nodes.report import report
from nodes.supervisor import make_supervisor
from nodes.tool_agent import tool_agent

REACHED = {"exceeded": [{"scope": "run", "limit": "model_calls", "max": 2, "spent": 2}]}


@pytest.mark.parametrize(
    "answer",
    [
        {"type": "extend", "by": {"model_calls": 3}},
        {"type": "extend", "by": {"model_calls": 1, "dollars": 0.25}},
        {"type": "stop"},
        {"type": "stop", "reason": "too expensive"},
    ],
)
def test_valid_answers(answer: Any):
    assert answer_problem(answer, REACHED) is None


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("extend", "invalid budget answer"),
        ({"type": "accept"}, "invalid budget answer"),
        ({"type": "extend"}, "needs 'by'"),
        ({"type": "extend", "by": {}}, "needs 'by'"),
        ({"type": "extend", "by": {"model_calls": 0}}, "positive"),
        ({"type": "extend", "by": {"model_calls": True}}, "positive"),
        ({"type": "extend", "by": {"model_calls": 2.5}}, "whole number"),
        ({"type": "extend", "by": {"minutes": 5}}, "cannot raise 'minutes'"),
        ({"type": "extend", "by": {"tokens": 500}}, "must raise model_calls"),
        ({"type": "extend", "by": {"model_calls": 1}, "reason": "x"}, "only 'by'"),
        ({"type": "stop", "by": {"model_calls": 1}}, "only a 'reason'"),
        ({"type": "stop", "reason": 5}, "text"),
    ],
)
def test_invalid_answers_say_why(answer: Any, why: str):
    problem = answer_problem(answer, REACHED)
    assert problem is not None and why in problem


class FakeMeter:
    def __init__(self) -> None:
        self.over = True
        self.stopped = False

    def exceeded(self) -> list[dict[str, Any]]:
        return list(REACHED["exceeded"]) if self.over else []

    def snapshot(self) -> dict[str, dict[str, dict[str, float]]]:
        return {"spent": {"run": {"model_calls": 2}}, "left": {"run": {"model_calls": 0}}, "limits": {}}

    def news(self) -> list[tuple[str, dict[str, Any]]]:
        return []


class Reports(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.actions: list[str] = []

    async def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:  # noqa: ARG002
        if name == EVENT:
            self.actions.append(data["action"])


class State(TypedDict, total=False):
    calls: int
    stopped: bool


def graph(meter: FakeMeter) -> Any:
    async def node(state: State, config: RunnableConfig) -> State:
        if await gate(meter, config, "node"):
            return {"stopped": True}
        return {"calls": state.get("calls", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


async def test_the_gate_pauses_asks_again_after_a_short_extension_and_stops():
    meter, reports = FakeMeter(), Reports()
    compiled = graph(meter)
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}, "callbacks": [reports]}

    await compiled.ainvoke({}, config)
    [pending] = (await compiled.aget_state(config)).interrupts
    assert is_budget(pending.value) and pending.value["error"] is None
    assert reports.actions == ["paused"]

    # The meter still says the limit is reached after the extension: the same node asks again, saying why, and
    # counts one more pause (not one for the interrupt whose answer it got back).
    await compiled.ainvoke(Command(resume={pending.id: {"type": "extend", "by": {"model_calls": 1}}}), config)
    [again] = (await compiled.aget_state(config)).interrupts
    assert again.id != pending.id and "still reached" in again.value["error"]
    assert reports.actions == ["paused", "paused"]

    meter.stopped = True  # as the server's meter learns it from the audit row of the stop
    result = await compiled.ainvoke(Command(resume={again.id: {"type": "stop"}}), config)
    assert result == {"stopped": True}
    assert (await compiled.aget_state(config)).interrupts == ()
    assert reports.actions == ["paused", "paused"]


async def test_without_a_meter_or_under_the_limit_the_gate_lets_the_call_through():
    meter = FakeMeter()
    meter.over = False
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
    assert await graph(meter).ainvoke({}, config) == {"calls": 1}
    assert await gate(None, config, "node") is False


class Stopped(FakeMeter):
    def __init__(self) -> None:
        super().__init__()
        self.stopped = True


class NoModels:
    def chat(self, role: Any) -> Any:
        raise AssertionError(f"a stopped run calls no model ({role})")


async def test_a_stopped_run_calls_no_model_in_the_onboarding_nodes_and_still_answers():
    runtime = Runtime(context=Context(db=None, models=NoModels(), budget=Stopped()))
    # No desk id in the results: the supervisor's stop answer then needs no desk read to pass the output guard.
    state: Any = {"messages": [HumanMessage("Onboard Globex"), ToolMessage("found Globex", tool_call_id="t")]}
    config: RunnableConfig = {}

    routed = await classifier(state, runtime, config)
    assert routed.goto == "__end__"
    [stopped] = routed.update["messages"]  # type: ignore[index]
    assert isinstance(stopped, AIMessage) and "found Globex" in str(stopped.content)

    planned = await planner(state, runtime, config)
    assert planned.goto == "executor" and planned.update["plan"] == []  # type: ignore[index]

    [answer] = (await report(state, runtime, config))["messages"]
    assert isinstance(answer, AIMessage) and not answer.tool_calls

    for agent in (make_supervisor([]), tool_agent(prompt="p", tools=[])):
        [reply] = (await agent(state, runtime, config))["messages"]
        assert isinstance(reply, AIMessage) and not reply.tool_calls
