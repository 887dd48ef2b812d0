"""The enterprise executor: runs the validated plan through the same tool runner rules as any agent
(writes with idempotency keys here; the approval_required steps together as one approval task, one interrupt)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from nodes.context import Context
from nodes.plan_rules import PLANNABLE
from nodes.planner import step_key
from nodes.run_tools import allowed_spec, execute
from nodes.spec import NodeSpec
from nodes.state import ApprovalTask, OnboardingState, ToolCallDict
from tools.spec import Risk

REASON = "step {n} of the validated enterprise setup plan"
REASONS = "steps {n} of the validated enterprise setup plan"


async def executor(state: OnboardingState, runtime: Runtime[Context]) -> Command[str]:
    steps = state.get("plan", [])
    calls = [ToolCallDict(name=s["tool"], args=s["args"], id=f"plan_{step_key(s)[:16]}") for s in steps]
    announce = AIMessage(content="", tool_calls=[{**c, "type": "tool_call"} for c in calls], name="executor")
    replies: list[ToolMessage] = []
    risky: list[tuple[int, ToolCallDict]] = []
    for n, call in enumerate(calls, start=1):
        spec = allowed_spec(call, PLANNABLE)
        if isinstance(spec, str):
            replies.append(
                ToolMessage(content=f"Error: {spec}", tool_call_id=call["id"], name=call["name"], status="error")
            )
        elif spec.risk is Risk.APPROVAL_REQUIRED:
            risky.append((n, call))
        else:
            replies.append(await execute(call, spec, runtime, agent="executor"))
    messages: list[Any] = [announce, *replies] if calls else []
    if not risky:
        return Command(update={"messages": messages}, goto="report")
    numbers = ", ".join(str(n) for n, _ in risky)
    reason = (REASON if len(risky) == 1 else REASONS).format(n=numbers)
    task = ApprovalTask(calls=[call for _, call in risky], agent="executor", reason=reason)
    return Command(update={"messages": messages}, goto=[Send("approval", task)])


SPEC = NodeSpec(name="executor", fn=executor, description="Runs the validated plan.", tools=PLANNABLE, retry=None)
