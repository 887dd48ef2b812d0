"""Where tool-argument policies (tools/policies.py) are applied: the tool runner asks before it runs a call or sends
it for approval, the approval node before it runs an accepted or edited call. A refusal is the call's ToolMessage
(an error the model reads and can act on), reported once as the `tool_policy` guardrail; nothing runs, no approval
is asked."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from nodes.guardrails import report
from nodes.state import ToolCallDict
from tools.policies import POLICIES
from tools.spec import ToolCall, ToolSpec


async def refusal(call: ToolCallDict, spec: ToolSpec, context: ToolCall) -> ToolMessage | None:
    """The refusal of a call (its arguments valid for `spec`) by the first of the tool's policies it breaks, or None
    when it passes them all."""
    policies = POLICIES.get(spec.name, ())
    if not policies:
        return None
    args = spec.args.model_validate(call["args"])
    for policy in policies:
        why = await policy.refusal(args, context)
        if why is None:
            continue
        detail = {"tool": spec.name, "policy": policy.name, "agent": context.agent, "reason": why}
        await report("tool_policy", "refused", detail)
        text = f"Error: {spec.name} was refused by the {policy.name} policy and did not run: {why}"
        return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
    return None
