"""The eval's record of tool calls, completed from the thread's checkpoints: a call or result whose events the stream
never carried (a worker killed before storing them) is still recorded, from a sub-graph's namespace or a step's
pending writes, and only from `messages`; a write no checkpoint knows of stays a duplicated effect."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict

from evals import checkpointed, desk
from evals.records import Observed, ToolCallSeen
from evals.runner import record_messages


class Outer(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    planner: Annotated[list[AnyMessage], add_messages]  # feedback on planned calls that never ran
    answers: Annotated[list[str], operator.add]


class Worker(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


def _work(state: Worker) -> dict[str, Any]:
    calls = [{"name": "issue_refund", "args": {}, "id": "call_refund"}, {"name": "open_ticket", "args": {}, "id": "x"}]
    return {
        "messages": [
            AIMessage(content="", tool_calls=calls),
            ToolMessage(content="refunded", name="issue_refund", tool_call_id="call_refund"),
            ToolMessage(content="Error: refused", name="open_ticket", tool_call_id="x", status="error"),
        ]
    }


def _graph(saver: PostgresSaver) -> Any:
    worker = StateGraph(Worker)
    worker.add_node("tools", _work)
    worker.add_edge(START, "tools")
    billing = worker.compile()

    def delegate(state: Outer) -> dict[str, Any]:  # as keel's delegate_to: the worker's messages stay its own
        billing.invoke({"messages": []})
        return {"messages": [ToolMessage(content="done", name="ask_billing", tool_call_id="call_ask")]}

    def send(state: Outer) -> dict[str, Any]:
        calls = [
            {"name": "send_external_message", "args": {"to": "a"}, "id": "call_send"},
            {"name": "issue_refund", "args": {}, "id": "call_waiting"},  # no result (yet)
        ]
        return {
            "messages": [
                AIMessage(content="", tool_calls=calls),
                ToolMessage(content="sent", name="send_external_message", tool_call_id="call_send"),
            ],
            "planner": [
                AIMessage(content="", tool_calls=[{"name": "open_ticket", "args": {}, "id": "call_planned"}]),
                ToolMessage(content="accepted", name="open_ticket", tool_call_id="call_planned"),
            ],
        }

    def ask(state: Outer) -> dict[str, Any]:
        return {"answers": [interrupt("ok?")]}

    outer = StateGraph(Outer)
    for name, node in {"billing": delegate, "sender": send, "asker": ask}.items():
        outer.add_node(name, node)
        outer.add_edge(START, name)
    return outer.compile(checkpointer=saver)


def test_results_only_the_checkpoints_hold_complete_the_record_and_no_write_counts_as_duplicated(database_url: str):
    thread = {"configurable": {"thread_id": "4f8e7c52-5a3e-4f0e-9a52-0d9d1b0c1e11"}}
    with PostgresSaver.from_conn_string(database_url) as saver:
        # One step: `billing` and `sender` finish, `asker` interrupts, so the step's checkpoint is never written:
        # their results are pending writes, and the worker's are in its own namespace's checkpoints.
        _graph(saver).invoke({}, thread)

    thread_id = thread["configurable"]["thread_id"]
    found = Observed(task_id="t", repeat=0, chaos="worker-kill", thread_id=thread_id)
    record_messages(found, checkpointed.messages(database_url, thread_id))
    assert {(c.agent, c.name, c.call_id, c.ok, c.result) for c in found.tool_calls} == {
        ("billing", "issue_refund", "call_refund", True, "refunded"),
        ("billing", "open_ticket", "x", False, "Error: refused"),
        ("", "send_external_message", "call_send", True, "sent"),
        ("", "issue_refund", "call_waiting", None, None),
    }

    # The stream showed the refund's call without its result, and nothing of the rest.
    observed = Observed(task_id="t", repeat=0, chaos="worker-kill", thread_id="t")
    observed.tool_calls.append(ToolCallSeen(agent="billing", name="issue_refund", args={"a": 1}, call_id="call_refund"))
    added = {"refunds": 1, "outbox": 1}

    def duplicated() -> int:
        return desk.duplicated(added, [(c.name, c.call_id) for c in observed.tool_calls if c.ok])

    assert duplicated() == 2
    record_messages(observed, checkpointed.messages(database_url, thread_id))
    assert duplicated() == 0
    refund, *rest = observed.tool_calls
    assert (refund.args, refund.ok, refund.result) == ({"a": 1}, True, "refunded")  # what the stream showed is kept
    assert {(c.name, c.call_id, c.ok) for c in rest} == {
        ("open_ticket", "x", False),
        ("send_external_message", "call_send", True),
        ("issue_refund", "call_waiting", None),
    }
    # A second refund row that no checkpointed result explains is still a duplicated effect.
    added["refunds"] = 2
    assert duplicated() == 1
