"""No-progress detection on the support graph with a scripted model that loops (tests/scripted_model.py): the
repeated call runs `max_repeated_calls` times and no more, turns without a new result stop the agent, the agent's
answer explains it, and the `no_progress` guardrail is reported once per stop."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from graphs.support import build
from tests.graphs.guardrail_reports import Reports
from tests.graphs.harness import Desk, open_desk
from tests.scripted_model import ScriptedModels, Turn, call


async def run(desk: Desk, request: str) -> tuple[list[BaseMessage], list[dict[str, Any]]]:
    reports = Reports()
    config: RunnableConfig = desk.config(str(uuid.uuid4())) | {"callbacks": [reports]}
    values = await desk.graph.ainvoke({"messages": [HumanMessage(request)]}, config, context=desk.context)
    return values["messages"], reports.events


def results(messages: list[BaseMessage], name: str) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage) and m.name == name]


def same_lookup_forever(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    return call("lookup_customer", query="cus_acme")


async def test_the_same_call_runs_at_most_max_repeated_calls_times(database_url: str) -> None:
    async with open_desk(database_url, build, models=ScriptedModels(same_lookup_forever)) as desk:
        messages, events = await run(desk, "Who is cus_acme?")
    lookups = results(messages, "lookup_customer")
    assert [m.status for m in lookups] == ["success"] * 3 + ["error"]  # the 4th was refused, not run
    assert "was not run" in str(lookups[-1].content)
    last = messages[-1]
    assert isinstance(last, AIMessage) and not last.tool_calls
    assert last.response_metadata == {"guardrail": "no_progress", "reason": "repeated_call"}
    assert "lookup_customer" in str(last.content)
    assert [(e["guardrail"], e["action"], e["detail"]) for e in events] == [
        (
            "no_progress",
            "stopped",
            {"agent": "supervisor", "reason": "repeated_call", "tool": "lookup_customer", "times": 3},
        )
    ]


def lookups_of_nobody(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    return call("lookup_customer", query=f"cus_nobody_{len(turn.results)}")  # new arguments, the same failure


async def test_turns_without_a_new_result_stop_the_supervisor(database_url: str) -> None:
    async with open_desk(database_url, build, models=ScriptedModels(lookups_of_nobody)) as desk:
        messages, events = await run(desk, "Who is cus_nobody?")
    assert len(results(messages, "lookup_customer")) == 3  # max_idle_turns
    assert messages[-1].response_metadata == {"guardrail": "no_progress", "reason": "no_new_results"}
    assert [(e["guardrail"], e["detail"]) for e in events] == [
        ("no_progress", {"agent": "supervisor", "reason": "no_new_results", "turns": 3})
    ]


def billing_worker_loops(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    if "ask_billing" in turn.tools:  # the supervisor: delegate once, then answer with what came back
        return AIMessage("Billing could not finish.") if turn.results else call("ask_billing", request="cus_acme")
    return call("check_billing_status", customer_id="cus_acme")


async def test_a_looping_worker_stops_and_the_supervisor_gets_its_explanation(database_url: str) -> None:
    async with open_desk(database_url, build, models=ScriptedModels(billing_worker_loops)) as desk:
        reports = Reports()
        config: RunnableConfig = desk.config(str(uuid.uuid4())) | {"callbacks": [reports]}
        seen: list[ToolMessage] = []
        item: Any  # (namespace, updates) with subgraphs=True
        async for item in desk.graph.astream(
            {"messages": [HumanMessage("Billing status of cus_acme?")]},
            config,
            context=desk.context,
            stream_mode="updates",
            subgraphs=True,
        ):
            for node in item[1].values():
                seen += [m for m in (node or {}).get("messages", []) if isinstance(m, ToolMessage)]
    checks = [m for m in seen if m.name == "check_billing_status"]
    assert [m.status for m in checks] == ["success"] * 3 + ["error"]
    [handed_back] = [m for m in seen if m.name == "ask_billing"]
    assert str(handed_back.content).startswith("I stopped because I kept asking for the same thing")
    assert [(e["guardrail"], e["detail"]["agent"]) for e in reports.events] == [("no_progress", "worker")]


def remembers_then_answers(messages: list[BaseMessage], turn: Turn) -> AIMessage:
    if len(turn.results) < 3:
        channel = ("email", "phone", "chat")[len(turn.results)]
        return call("remember_preferred_channel", customer_id="cus_acme", channel=channel)
    return AIMessage("Done.")


async def test_new_results_are_progress(database_url: str) -> None:
    async with open_desk(database_url, build, models=ScriptedModels(remembers_then_answers)) as desk:
        messages, events = await run(desk, "Remember cus_acme's channels")
    assert messages[-1].content == "Done." and events == []
