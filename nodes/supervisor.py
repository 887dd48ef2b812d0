"""The support supervisor: looks customers up itself (read-only tools), remembers how they want to be contacted
(the store), and delegates the rest to worker agents through one `ask_<worker>` tool each, until it can answer.
Past Context.max_steps it stops and explains instead of looping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from nodes.budget import gate, stop_answer
from nodes.context import Context
from nodes.output_guard import guard_answer
from nodes.progress import stop_if_stalled
from nodes.spec import NodeSpec
from nodes.state import SupportState
from nodes.tool_agent import tool_schemas

READ_TOOLS = ("lookup_customer",)
# The supervisor's own tools: look-ups, and what the desk remembers across conversations (LangGraph's store).
TOOLS = (*READ_TOOLS, "remember_preferred_channel")

PROMPT = """You are the support supervisor of a SaaS company's customer desk. Look customers up yourself;
delegate everything else to the worker whose description fits, with its ask_<worker> tool and the customer's
request (including ids). When the workers have answered, reply to the request in a few sentences, citing what
they found or changed. Tools and when to use them:
- lookup_customer: a customer's record, with their preferred channel if one was remembered (keywords: who is, look up, \
customer record)
- remember_preferred_channel: remember how a customer wants to be contacted, in later conversations too \
(keywords: remember)
{workers}"""


def handoff_name(worker: NodeSpec) -> str:
    return f"ask_{worker.name}"


def handoff_schema(worker: NodeSpec) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": {"request": {"type": "string", "description": "The request, with every id and detail"}},
        "required": ["request"],
    }
    return {
        "type": "function",
        "function": {"name": handoff_name(worker), "description": worker.description, "parameters": parameters},
    }


def prompt_for(workers: Sequence[NodeSpec]) -> str:
    lines = [f"- {handoff_name(w)}: {w.description} (keywords: {', '.join(w.keywords)})" for w in workers]
    return PROMPT.format(workers="\n".join(lines))


def step_limit_answer(state: SupportState, turns: int) -> AIMessage:
    found = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
    so_far = " So far: " + " | ".join(str(f)[:200] for f in found[-3:]) if found else ""
    return AIMessage(
        content=f"I could not finish this request within the step limit ({turns} steps), so I stopped here.{so_far}"
    )


def make_supervisor(workers: Sequence[NodeSpec]) -> Any:
    tools = [*tool_schemas(TOOLS), *(handoff_schema(w) for w in workers)]
    prompt = prompt_for(workers)

    async def supervisor(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        turns = state.get("turns", 0)
        if turns >= runtime.context.max_steps:
            answer = await guard_answer(step_limit_answer(state, turns), state["messages"], runtime.context.db)
            return {"messages": [answer]}
        if stop := await stop_if_stalled(state["messages"], runtime.context, "supervisor"):
            return {"messages": [await guard_answer(stop, state["messages"], runtime.context.db)]}
        if await gate(runtime.context.budget, config, "supervisor"):
            stop = stop_answer(state["messages"], runtime.context.budget)
            return {"messages": [await guard_answer(stop, state["messages"], runtime.context.db)]}
        model = runtime.context.models.chat("router").bind_tools(tools)
        reply = await model.ainvoke([SystemMessage(prompt), *state["messages"]])
        if isinstance(reply, AIMessage) and not reply.tool_calls:  # the answer to the user
            reply = await guard_answer(reply, state["messages"], runtime.context.db)
        return {"messages": [reply], "turns": turns + 1}

    return supervisor
