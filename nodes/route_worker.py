"""Runs one onboarding route's agent sub-graph and adds its report to the conversation."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from nodes.context import Context
from nodes.delegate import WorkerGraph, answer_of, run_worker
from nodes.intake import request_of
from nodes.output_guard import guard_answer
from nodes.state import OnboardingState

# What each route's agent is told besides the request itself.
BRIEFS = {
    "standard_setup": "Set up customer {customer_id} ({name}).",
    "billing_review": "Billing review for customer {customer_id} ({name}): the account is past due, so setup waits.",
}


def make_route_worker(name: str, worker: WorkerGraph) -> Any:
    async def route_worker(state: OnboardingState, runtime: Runtime[Context]) -> dict[str, list[AIMessage]]:
        customer = state.get("customer", {})
        brief = BRIEFS[name].format(customer_id=customer.get("customer_id"), name=customer.get("name"))
        conversation = await run_worker(worker, f"{brief}\nRequest: {request_of(state)}")
        answer = AIMessage(content=answer_of(conversation), name=name)
        known = [str(customer["customer_id"])] if customer.get("customer_id") else []
        return {"messages": [await guard_answer(answer, state["messages"], runtime.context.db, known=known)]}

    return route_worker
