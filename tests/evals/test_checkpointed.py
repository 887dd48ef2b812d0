"""The eval's record of tool results, completed from the thread's checkpoints: a result whose events the stream never
carried (a worker killed before storing them) still counts as the call's, in a sub-graph's namespace or among a
step's pending writes, and only from `messages`; a write no checkpoint knows of stays a duplicated effect."""

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
        return {
            "messages": [ToolMessage(content="sent", name="send_external_message", tool_call_id="call_send")],
            "planner": [ToolMessage(content="accepted", name="open_ticket", tool_call_id="call_planned")],
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

    results = checkpointed.tool_results(database_url, thread["configurable"]["thread_id"])
    assert {(r.agent, r.name, r.call_id, r.ok, r.text) for r in results} == {
        ("billing", "issue_refund", "call_refund", True, "refunded"),
        ("billing", "open_ticket", "x", False, "Error: refused"),
        ("", "ask_billing", "call_ask", True, "done"),
        ("", "send_external_message", "call_send", True, "sent"),
    }

    # The stream showed both writes' calls, without their results.
    observed = Observed(task_id="t", repeat=0, chaos="worker-kill", thread_id="t")
    for name, call_id in (("issue_refund", "call_refund"), ("send_external_message", "call_send")):
        observed.tool_calls.append(ToolCallSeen(agent="billing", name=name, args={"a": 1}, call_id=call_id))
    added = {"refunds": 1, "outbox": 1}

    def duplicated() -> int:
        return desk.duplicated(added, [(c.name, c.call_id) for c in observed.tool_calls if c.ok])

    assert duplicated() == 2
    checkpointed.complete(observed, results)
    assert duplicated() == 0
    refund = observed.tool_calls[0]
    assert (refund.args, refund.ok, refund.result) == ({"a": 1}, True, "refunded")  # what the stream showed is kept
    assert len(observed.tool_calls) == 2  # calls the stream never showed are not made up
    # A second refund row that no checkpointed call explains is still a duplicated effect.
    added["refunds"] = 2
    assert duplicated() == 1
