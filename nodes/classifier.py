"""The classifier: picks the onboarding route for a found customer from the request and intake's report."""

from __future__ import annotations

from typing import Literal, cast, get_args

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from nodes.budget import gate, stop_answer
from nodes.context import Context
from nodes.intake import request_of
from nodes.spec import NodeSpec
from nodes.state import OnboardingState

Route = Literal["billing_review", "enterprise_setup", "standard_setup"]

PROMPT = """You route onboarding requests of a SaaS company's customer desk. Choose exactly one route with the
choose_route tool, the first that applies:
- billing_review: the subscription is past due (keywords: past due)
- enterprise_setup: the customer is on an enterprise contract (keywords: plan enterprise, enterprise contract)
- standard_setup: every other customer (default)
"""

CHOOSE_ROUTE = {
    "type": "function",
    "function": {
        "name": "choose_route",
        "description": "Send the request down one onboarding route.",
        "parameters": {
            "type": "object",
            "properties": {"route": {"type": "string", "enum": list(get_args(Route))}},
            "required": ["route"],
        },
    },
}


def chosen(reply: AIMessage) -> Route:
    """The route the model chose; an unusable answer falls back to the standard route."""
    for call in reply.tool_calls:
        route = call["args"].get("route")
        if call["name"] == "choose_route" and route in get_args(Route):
            return cast(Route, route)  # checked against Route just above
    return "standard_setup"


async def classifier(
    state: OnboardingState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Route | Literal["__end__"]]:
    if await gate(runtime.context.budget, config, "classifier"):  # stopped: no route runs; answer and end
        return Command(update={"messages": [stop_answer(state["messages"], runtime.context.budget)]}, goto="__end__")
    report = next((str(m.content) for m in reversed(state["messages"]) if getattr(m, "name", None) == "intake"), "")
    question = HumanMessage(f"{request_of(state)}\n\nWhat intake found:\n{report}")
    model = runtime.context.models.chat("router").bind_tools([CHOOSE_ROUTE], tool_choice="choose_route")
    reply = await model.ainvoke([SystemMessage(PROMPT), question])
    route = chosen(reply)
    return Command(update={"route": route}, goto=route)


SPEC = NodeSpec(name="classifier", fn=classifier, description="Routes onboarding requests.", role="router")
