"""The approval node: the only place in keel that calls `interrupt()`.

One task per approval_required call (the tool runner sends them). The run stops with this payload:

    {"tool": "issue_refund", "args": {...}, "agent": "billing", "reason": "...", "description": "...",
     "tool_call_id": "call_…", "error": None,
     "permission": "approvals:decide", "two_person": False, "requested_by": "alice"}

`permission`, `two_person` (for these arguments) and `requested_by` (the identity that started the run, as
LangGraph Server puts it in the run's config; "" without one) are what the API checks a decider against, from
the pending interrupt alone (server/services/approvals.py).

and resumes with one decision:

    {"type": "accept"}                          run the call as proposed
    {"type": "edit", "args": {...}}             run it with these arguments (validated again)
    {"type": "reject", "reason": "..."}         do not run it; the model is told why
    {"type": "respond", "message": "..."}       do not run it; the model gets this message instead

An invalid decision (unknown type, an accept with args, an edit whose arguments fail validation) does not end
the approval: the node interrupts again with the same call and `error` saying what was wrong, so it stays
pending. (The API refuses such a decision with a 422 before a run starts: server/services/commands.py.)
On resume LangGraph re-runs this node from its start, so nothing before `interrupt()` has side effects.
"""

from __future__ import annotations

from typing import Any, Literal, TypeGuard

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from nodes.context import Context
from nodes.run_tools import execute, validation_problem
from nodes.state import ApprovalTask, ToolCallDict
from tools import TOOLS


class Decision(BaseModel):
    """A resume value, checked before anything runs."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["accept", "edit", "reject", "respond"]
    args: dict[str, Any] | None = None
    reason: str | None = None
    message: str | None = None

    @model_validator(mode="after")
    def _own_fields_only(self) -> Decision:
        # An accept runs the call exactly as the person saw it; arguments ride only on an edit, which is
        # validated again. A field another type owns would otherwise be silently ignored, or worse, used.
        allowed = _FIELDS[self.type]
        extra = sorted(name for name in ("args", "reason", "message") if getattr(self, name) is not None)
        if stray := [name for name in extra if name not in allowed]:
            hint = " (to change the arguments, send an edit)" if self.type == "accept" and "args" in stray else ""
            raise ValueError(f"a {self.type} decision takes no {', '.join(stray)}{hint}")
        return self


_FIELDS: dict[str, tuple[str, ...]] = {"accept": (), "edit": ("args",), "reject": ("reason",), "respond": ("message",)}
# What an approval interrupt's value carries (see `payload`): how the API tells keel's approvals from other interrupts.
# (`permission`, `two_person` and `requested_by` are left out: approvals raised before keel added them count too.)
PAYLOAD_KEYS = frozenset({"tool", "args", "agent", "reason", "description", "tool_call_id", "error"})


def is_approval(value: Any) -> TypeGuard[dict[str, Any]]:
    """True for the value of an interrupt this node raised (the API validates decisions for those)."""
    return isinstance(value, dict) and value.keys() >= PAYLOAD_KEYS and value["tool"] in TOOLS


def decision_problem(decision: Any, tool: str) -> str | None:
    """None when `decision` is a valid answer to an approval of `tool`, else what is wrong with it."""
    parsed = _problem(decision, tool)
    return parsed if isinstance(parsed, str) else None


def _problem(decision: Any, tool: str) -> Decision | str:
    """The decision, or what is wrong with it (shown in the next interrupt's `error`)."""
    try:
        parsed = Decision.model_validate(decision)
    except ValidationError as exc:
        expected = "{'type': 'accept' | 'edit' | 'reject' | 'respond', ...}"
        why = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return f"invalid decision {decision!r}: {why}. Expected {expected}"
    if parsed.type == "edit":
        if parsed.args is None:
            return "an edit needs 'args': the complete new arguments"
        return validation_problem(TOOLS[tool], parsed.args) or parsed
    if parsed.type == "respond" and not parsed.message:
        return "a respond decision needs 'message': the text the agent gets instead of the tool's result"
    return parsed


def needed_permission(value: dict[str, Any]) -> str:
    """The permission deciding on this approval needs (an approval raised before keel put it in the payload:
    the tool's current one)."""
    permission = value.get("permission")
    return permission if isinstance(permission, str) and permission else TOOLS[value["tool"]].approver_permission


def needs_two_people(value: dict[str, Any], decision: Any) -> bool:
    """Whether the two-person rule holds for this approval answered with `decision`: for the proposed arguments
    (as the payload says), or for an edit's arguments (an edit must not take a call out of the rule)."""
    spec = TOOLS[value["tool"]]
    proposed = value.get("two_person")
    if not isinstance(proposed, bool):
        proposed = spec.needs_two_people(value["args"])
    edited = decided_args(decision, value["args"]) if _kind(decision) == "edit" else None
    return proposed or (edited is not None and spec.needs_two_people(edited))


def _kind(decision: Any) -> Any:
    return decision.get("type") if isinstance(decision, dict) else None


def decided_args(decision: Any, proposed: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments a valid decision runs the call with (None: it does not run)."""
    kind = _kind(decision)
    if kind == "accept":
        return proposed
    if kind == "edit":
        args = decision.get("args")
        return dict(args) if isinstance(args, dict) else None
    return None


def requester(config: RunnableConfig | None) -> str:
    """The identity that started the run, as LangGraph Server puts it in a run's config ("" without one)."""
    identity = ((config or {}).get("configurable") or {}).get("langgraph_auth_user_id")
    return identity if isinstance(identity, str) else ""


def payload(task: ApprovalTask, error: str | None, requested_by: str = "") -> dict[str, Any]:
    call = task["call"]
    spec = TOOLS[call["name"]]
    return {
        "tool": call["name"],
        "args": call["args"],
        "agent": task["agent"],
        "reason": task["reason"],
        "description": spec.description,
        "tool_call_id": call["id"],
        "error": error,
        "permission": spec.approver_permission,
        "two_person": spec.needs_two_people(call["args"]),
        "requested_by": requested_by,
    }


async def approval(
    task: ApprovalTask, runtime: Runtime[Context], config: RunnableConfig
) -> dict[str, list[ToolMessage]]:
    call = task["call"]
    error: str | None = None
    requested_by = requester(config)
    while True:  # each invalid decision asks again; LangGraph matches resume values to interrupts by order
        decision = _problem(interrupt(payload(task, error, requested_by)), call["name"])
        if isinstance(decision, Decision):
            break
        error = decision
    if decision.type == "reject":
        why = decision.reason or "no reason given"
        reply = f"Error: a reviewer rejected {call['name']} and it did not run. Reason: {why}"
        return {"messages": [ToolMessage(content=reply, tool_call_id=call["id"], name=call["name"], status="error")]}
    if decision.type == "respond":
        reply = f"A reviewer answered instead of running {call['name']}: {decision.message}"
        return {"messages": [ToolMessage(content=reply, tool_call_id=call["id"], name=call["name"])]}
    approved = ToolCallDict(name=call["name"], args=decision.args or call["args"], id=call["id"])
    return {"messages": [await execute(approved, TOOLS[call["name"]], runtime, task["agent"])]}
