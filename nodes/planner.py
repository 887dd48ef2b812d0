"""The enterprise planner: proposes the setup as tool calls (the JSON plan), which are validated, not run.
Rejected steps come back as error ToolMessages saying what is wrong and what is valid, and the planner
revises them (reflection on external feedback), at most MAX_REVISIONS times."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from nodes.budget import gate
from nodes.context import Context
from nodes.intake import request_of
from nodes.plan_rules import PLANNABLE, step_problem
from nodes.spec import NodeSpec
from nodes.state import OnboardingState
from nodes.tool_agent import tool_schemas

MAX_REVISIONS = 2

PROMPT = """You plan the setup of an enterprise customer of a SaaS company. Propose every step as a tool call;
nothing runs now: each step is checked and you get feedback per step. When a step is rejected, propose it
again, corrected as the feedback says; accepted steps are kept. Tools and when to use them:
- create_workspace: one workspace per quoted name (keywords: workspace, environment)
- send_external_message: email the customer's admin (keywords: email, welcome, notify)
- open_ticket: work for the account team, e.g. SSO or contract questions (keywords: ticket, sso, contract)
"""


def plain(value: Any) -> str:
    """Facts as `key: value` text for the prompt."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    return str(value)


def step_key(step: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(step, sort_keys=True, default=str).encode()).hexdigest()


async def planner(
    state: OnboardingState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["planner", "executor"]]:
    if await gate(runtime.context.budget, config, "planner"):  # stopped: nothing runs; the report says why
        return Command(update={"plan": [], "plan_errors": ["a person stopped the run at its budget"]}, goto="executor")
    revisions = state.get("revisions", 0)
    customer, checks = state.get("customer", {}), state.get("checks", {})
    exchange = list(state.get("planner", []))
    new = [] if exchange else [HumanMessage(request_of(state))]
    facts = SystemMessage(f"The customer: {plain(customer)}\nWhat the checks found: {plain(checks)}")
    model = runtime.context.models.chat("worker").bind_tools(tool_schemas(PLANNABLE))
    reply = await model.ainvoke([SystemMessage(PROMPT), facts, *exchange, *new])
    plan = list(state.get("plan", []))
    errors: list[str] = []
    feedback: list[ToolMessage] = []
    for call in reply.tool_calls:
        step = {"tool": call["name"], "args": call["args"]}
        problem = step_problem(call["name"], call["args"], checks, customer)
        if problem:
            errors.append(f"{call['name']}: {problem}")
        elif step_key(step) not in {step_key(s) for s in plan}:
            plan.append(step)
        text, status = (f"Error: rejected: {problem}", "error") if problem else ("accepted", "success")
        feedback.append(ToolMessage(content=text, tool_call_id=call["id"] or "", name=call["name"], status=status))
    again = bool(errors) and revisions < MAX_REVISIONS
    update = {"planner": [*new, reply, *feedback], "plan": plan, "plan_errors": errors, "revisions": revisions + 1}
    return Command(update=update, goto="planner" if again else "executor")


SPEC = NodeSpec(
    name="planner", fn=planner, description="Plans enterprise setups; revises on feedback.", tools=PLANNABLE
)
