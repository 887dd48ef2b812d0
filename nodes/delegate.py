"""Runs a worker agent's sub-graph on one request and hands its answer back as the ToolMessage for the
call that asked for it. The sub-graph is invoked from inside this node, so it checkpoints under this
task's namespace with the parent's checkpointer, streams with that namespace, and its interrupts pause
the parent run (on resume this node re-runs and the sub-graph continues from its own checkpoint)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes import untrusted
from nodes.context import Context
from nodes.state import AgentState, Delegation

WorkerGraph = CompiledStateGraph[AgentState, Context, AgentState, AgentState]


async def run_worker(worker: WorkerGraph, request: str, read: list[Any] | None = None) -> list[AnyMessage]:
    """The worker's whole conversation for `request`; its last message is the worker's answer. `read`: outside
    text the asker had read, marked on the request so the worker's approvals carry it too."""
    asked = HumanMessage(request, additional_kwargs={untrusted.KEY: read} if read else {})
    result = await worker.ainvoke(AgentState(messages=[asked]))
    messages: list[AnyMessage] = result["messages"]
    return messages


def answer_of(messages: list[AnyMessage]) -> str:
    last = messages[-1]
    return last.content if isinstance(last, AIMessage) and isinstance(last.content, str) else str(last.content)


def delegate_to(worker: WorkerGraph) -> Any:
    async def delegate(task: Delegation, runtime: Runtime[Context]) -> dict[str, list[ToolMessage]]:  # noqa: ARG001
        conversation = await run_worker(worker, task["request"], task.get("untrusted"))
        # What the worker read comes back with its answer: the asker's later proposals were made after reading it.
        read = untrusted.provenance(conversation)
        answer = ToolMessage(
            content=answer_of(conversation),
            tool_call_id=task["tool_call_id"],
            name=task["tool_name"],
            additional_kwargs={untrusted.KEY: read} if read else {},
        )
        return {"messages": [answer]}

    return delegate
