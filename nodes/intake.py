"""Intake: finds the customer a request is about and their billing standing, before anything is routed."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from nodes.context import Context
from nodes.delegate import WorkerGraph, answer_of, run_worker
from nodes.output_guard import guard_answer
from nodes.spec import NodeSpec
from nodes.state import OnboardingState
from nodes.tool_agent import tool_agent

TOOLS = ("lookup_customer", "check_billing_status")

PROMPT = """You are the intake agent of a SaaS company's onboarding desk. Find the customer the request is
about, then their billing standing, and report both. Tools and when to use them:
- lookup_customer: find the customer by id, email or name (keywords: onboard, set up, setup, upgrade, customer)
- check_billing_status: their plan, subscription and invoices (keywords: onboard, set up, setup, upgrade, plan)
"""

SPEC = NodeSpec(
    name="intake",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Finds the customer and their billing standing.",
    tools=TOOLS,
)


def request_of(state: OnboardingState) -> str:
    humans = [m for m in state["messages"] if isinstance(m, HumanMessage)]
    return str(humans[-1].content) if humans else ""


def found_customer(messages: list[AnyMessage]) -> dict[str, Any] | None:
    for message in messages:
        if isinstance(message, ToolMessage) and message.name == "lookup_customer" and message.status != "error":
            return dict(message.artifact)
    return None


def make_intake(worker: WorkerGraph) -> Any:
    async def intake(state: OnboardingState, runtime: Runtime[Context]) -> Command[str]:
        conversation = await run_worker(worker, request_of(state))
        customer = found_customer(conversation)
        report = AIMessage(content=answer_of(conversation), name="intake")
        known = [str(customer["customer_id"])] if customer else []
        report = await guard_answer(report, state["messages"], runtime.context.db, known=known)
        if customer is None:  # nothing to route without a customer: the intake's report is the answer
            return Command(update={"messages": [report]}, goto=END)
        return Command(update={"messages": [report], "customer": customer}, goto="classifier")

    return intake
