"""The enterprise executor: runs the validated plan through the same tool runner rules as any agent
(writes with idempotency keys here; approval_required steps as one approval task each)."""

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


async def executor(state: OnboardingState, runtime: Runtime[Context]) -> Command[str]:
    steps = state.get("plan", [])
    calls = [ToolCallDict(name=s["tool"], args=s["args"], id=f"plan_{step_key(s)[:16]}") for s in steps]
    announce = AIMessage(content="", tool_calls=[{**c, "type": "tool_call"} for c in calls], name="executor")
    replies: list[ToolMessage] = []
    sends: list[Send] = []
    for n, call in enumerate(calls, start=1):
        spec = allowed_spec(call, PLANNABLE)
        if isinstance(spec, str):
            replies.append(
                ToolMessage(content=f"Error: {spec}", tool_call_id=call["id"], name=call["name"], status="error")
            )
        elif spec.risk is Risk.APPROVAL_REQUIRED:
            sends.append(Send("approval", ApprovalTask(call=call, agent="executor", reason=REASON.format(n=n))))
        else:
            replies.append(await execute(call, spec, runtime, agent="executor"))
    messages: list[Any] = [announce, *replies] if calls else []
    return Command(update={"messages": messages}, goto=sends or "report")


SPEC = NodeSpec(name="executor", fn=executor, description="Runs the validated plan.", tools=PLANNABLE, retry=None)
