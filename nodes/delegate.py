"""Runs a worker agent's sub-graph on one request and hands its answer back as the ToolMessage for the
call that asked for it. The sub-graph is invoked from inside this node, so it checkpoints under this
task's namespace with the parent's checkpointer, streams with that namespace, and its interrupts pause
the parent run (on resume this node re-runs and the sub-graph continues from its own checkpoint)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes.context import Context
from nodes.state import AgentState, Delegation

WorkerGraph = CompiledStateGraph[AgentState, Context, AgentState, AgentState]


async def run_worker(worker: WorkerGraph, request: str) -> list[AnyMessage]:
    """The worker's whole conversation for `request`; its last message is the worker's answer."""
    result = await worker.ainvoke(AgentState(messages=[HumanMessage(request)]))
    messages: list[AnyMessage] = result["messages"]
    return messages


def answer_of(messages: list[AnyMessage]) -> str:
    last = messages[-1]
    return last.content if isinstance(last, AIMessage) and isinstance(last.content, str) else str(last.content)


def delegate_to(worker: WorkerGraph) -> Any:
    async def delegate(task: Delegation, runtime: Runtime[Context]) -> dict[str, list[ToolMessage]]:  # noqa: ARG001
        answer = answer_of(await run_worker(worker, task["request"]))
        return {"messages": [ToolMessage(content=answer, tool_call_id=task["tool_call_id"], name=task["tool_name"])]}

    return delegate
