"""The final answer of a run: the synthesis model over the conversation, plus what the plan could not do."""

from __future__ import annotations

from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from nodes.budget import gate, stop_answer
from nodes.context import Context
from nodes.output_guard import guard_answer
from nodes.spec import NodeSpec
from nodes.state import OnboardingState

PROMPT = """Reply to the customer-desk request in a few sentences: what was set up or changed (with ids), what
a person declined, and what is still open."""


async def report(
    state: OnboardingState, runtime: Runtime[Context], config: RunnableConfig
) -> dict[str, list[AIMessage]]:
    if await gate(runtime.context.budget, config, "report"):
        return {"messages": [stop_answer(state["messages"], runtime.context.budget)]}
    reply = await runtime.context.models.chat("synthesis").ainvoke([SystemMessage(PROMPT), *state["messages"]])
    errors = state.get("plan_errors", [])
    if errors:
        not_done = "\nNot planned, because validation still rejected it: " + "; ".join(errors)
        reply = AIMessage(content=f"{reply.content}{not_done}", id=reply.id, usage_metadata=reply.usage_metadata)
    known = [str(state["customer"]["customer_id"])] if state.get("customer") else []
    return {"messages": [await guard_answer(reply, state["messages"], runtime.context.db, known=known)]}


SPEC = NodeSpec(name="report", fn=report, description="Writes the final answer.", role="synthesis")
