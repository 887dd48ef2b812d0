"""The model turn of a tool-using agent: system prompt + conversation -> one AIMessage (an answer or tool
calls). Worker agents are this function with their own prompt and tool allowlist (see nodes/billing.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from nodes.budget import agent_of, gate, stop_answer
from nodes.context import Context, Role
from nodes.progress import stop_if_stalled
from nodes.state import AgentState
from tools import TOOLS
from tools.spec import as_langchain_tool

AgentFn = Callable[[AgentState, Runtime[Context], RunnableConfig], Awaitable[dict[str, Any]]]


def tool_schemas(names: Sequence[str]) -> list[dict[str, Any]]:
    return [as_langchain_tool(TOOLS[name]) for name in names]


def step_limit_reply(turns: int) -> AIMessage:
    return AIMessage(
        content=f"I stopped after {turns} steps without finishing (the step limit). "
        "Here is where I got to; a person should take it from here."
    )


def tool_agent(*, prompt: str, tools: Sequence[str], role: Role = "worker") -> AgentFn:
    """A node that asks the model for its next move, with `tools` bound."""

    async def call_model(state: AgentState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        turns = state.get("turns", 0)
        if turns >= runtime.context.max_steps:
            return {"messages": [step_limit_reply(turns)], "turns": turns}
        if stop := await stop_if_stalled(state["messages"], runtime.context, role):
            return {"messages": [stop], "turns": turns}
        if await gate(runtime.context.budget, config, agent_of(config)):
            return {"messages": [stop_answer(state["messages"], runtime.context.budget)], "turns": turns}
        model = runtime.context.models.chat(role)
        bound = model.bind_tools(tool_schemas(tools)) if tools else model
        reply = await bound.ainvoke([SystemMessage(prompt), *state["messages"]])
        return {"messages": [reply], "turns": turns + 1}

    return call_model
