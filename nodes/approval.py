"""The approval node: the only place in keel that calls `interrupt()`.

One task per model turn (the tool runner sends the turn's approval_required calls together; calls in parallel
branches are separate tasks), so one interrupt per turn. Its value speaks two vocabularies at once:

- LangChain's HumanInTheLoopMiddleware schema, which Agent Chat UI and other LangChain clients render:
  `action_requests: [{"name", "args", "description"}]` and `review_configs: [{"action_name",
  "allowed_decisions", "args_schema"}]`, one of each per call, in the turn's order;
- keel's own fields. For one call, as keel has always raised it:

    {"tool": "issue_refund", "args": {...}, "agent": "billing", "reason": "...", "description": "...",
     "tool_call_id": "call_…", "error": None,
     "permission": "approvals:decide", "two_person": False, "requested_by": "alice"}

  For several, `agent`, `reason`, `error`, `requested_by` and `calls`: one {"tool", "args", "description",
  "tool_call_id", "permission", "two_person"} per call.

An agent that had read outside text (a knowledge-base article: nodes/untrusted.py) adds `untrusted`: one
{"tool", "source", "agent", "injection": [{"pattern", "excerpt"}]} per piece, and each action request's description
ends with "Untrusted content: proposed after reading kb/… ". Without any, the key is absent.

`permission`, `two_person` (for these arguments) and `requested_by` (the identity that started the run, as
LangGraph Server puts it in the run's config; "" without one) are what the API checks a decider against, from
the pending interrupt alone (server/services/approvals.py).

It resumes with one decision per call. keel's vocabulary (the answer itself for one call):

    {"type": "accept"}                          run the call as proposed
    {"type": "edit", "args": {...}}             run it with these arguments (validated again)
    {"type": "reject", "reason": "..."}         do not run it; the model is told why
    {"type": "respond", "message": "..."}       do not run it; the model gets this message instead

or LangChain's, `{"decisions": [...]}` with one per action request in order (either vocabulary inside):

    {"type": "approve"}                                         = accept
    {"type": "edit", "edited_action": {"name", "args"}}         = edit (the name must stay the tool's)
    {"type": "reject", "message": "..."}                        = reject with that reason

A tool's spec limits what may be decided (`allowed_decisions`: approve / edit / reject; respond counts as a
reject). `{"type": "resolved"}` is what the API sends for "mark as resolved" (a run's `command.goto` to the end):
the call does not run and the model is told a person settled it.

An invalid answer (unknown type, an accept with args, an edit whose arguments fail validation, a decisions list
of the wrong length) does not end the approval: the node interrupts again with the same calls and `error` saying
what was wrong, so it stays pending. (The API refuses such an answer with a 422 before a run starts:
server/services/commands.py.) The calls run in order once all are decided. On resume LangGraph re-runs this node
from its start, so nothing before `interrupt()` has side effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeGuard

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from nodes import untrusted
from nodes.context import Context
from nodes.policy_gate import refusal
from nodes.run_tools import execute, tool_context, validation_problem
from nodes.state import ApprovalTask, ToolCallDict
from tools import TOOLS
from tools.limits import Limits
from tools.spec import Decision as Review

DecisionType = Literal["accept", "edit", "reject", "respond", "resolved"]


class Decision(BaseModel):
    """A resume value for one call, in keel's vocabulary, checked before anything runs."""

    model_config = ConfigDict(extra="forbid")

    type: DecisionType
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

    def as_answer(self) -> dict[str, Any]:
        """keel's resume value for this decision (what the audit and the two-person rule read)."""
        return self.model_dump(exclude_none=True)


_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "edit": ("args",),
    "reject": ("reason",),
    "respond": ("message",),
    "resolved": (),
}
# What each of keel's decisions is in LangChain's `allowed_decisions` (None: always allowed, nothing runs).
_REVIEW: dict[str, Review | None] = {
    "accept": "approve",
    "edit": "edit",
    "reject": "reject",
    "respond": "reject",
    "resolved": None,
}
_EXPECTED = (
    "{'type': 'accept' | 'edit' | 'reject' | 'respond', ...} or {'decisions': [{'type': 'approve'} | "
    "{'type': 'edit', 'edited_action': {'name', 'args'}} | {'type': 'reject', 'message': ...}, ...]}"
)
# What a one-call approval interrupt's value carries (see `payload`): how the API tells keel's approvals from
# other interrupts. (`permission`, `two_person` and `requested_by` are left out: approvals raised before keel added
# them count too.)
PAYLOAD_KEYS = frozenset({"tool", "args", "agent", "reason", "description", "tool_call_id", "error"})
# ... and what an approval of several calls carries, and each of its `calls`.
BATCH_KEYS = frozenset({"calls", "agent", "reason", "error", "action_requests"})
CALL_KEYS = frozenset({"tool", "args", "description", "tool_call_id"})


def is_approval(value: Any) -> TypeGuard[dict[str, Any]]:
    """True for the value of an interrupt this node raised (the API validates decisions for those)."""
    if not isinstance(value, dict):
        return False
    if value.keys() >= PAYLOAD_KEYS:
        return value["tool"] in TOOLS
    calls = value.get("calls")
    return (
        value.keys() >= BATCH_KEYS
        and isinstance(calls, list)
        and bool(calls)
        and all(isinstance(c, dict) and c.keys() >= CALL_KEYS and c["tool"] in TOOLS for c in calls)
    )


def approval_calls(value: dict[str, Any]) -> list[dict[str, Any]]:
    """keel's fields of each call an approval asks about, in order: {"tool", "args", "description",
    "tool_call_id", "permission", "two_person", "requested_by"} (the last three absent on old approvals)."""
    calls = value.get("calls")
    if isinstance(calls, list) and "tool" not in value:
        return [{**call, "requested_by": value.get("requested_by", "")} for call in calls]
    return [value]


def task_calls(task: ApprovalTask) -> list[ToolCallDict]:
    """The calls a task asks about (a task sent before keel grouped a turn's calls has one, as `call`)."""
    calls = task.get("calls")
    if calls:
        return list(calls)
    return [task["call"]]


def decision_problem(answer: Any, value: dict[str, Any]) -> str | None:
    """None when `answer` is a valid answer to the approval whose interrupt value is `value`, else what is wrong."""
    parsed = parse_answer(answer, [call["tool"] for call in approval_calls(value)])
    return parsed if isinstance(parsed, str) else None


def parse_answer(answer: Any, tools: Sequence[str]) -> list[Decision] | str:
    """keel's decision for each of the calls (to `tools`, in order) that `answer` decides, or what is wrong with it
    (shown in the next interrupt's `error`, or the API's 422)."""
    if isinstance(answer, dict) and "decisions" in answer:
        items = answer["decisions"]
        if set(answer) != {"decisions"}:
            stray = ", ".join(sorted(str(key) for key in answer if key != "decisions"))
            return f"invalid answer: a decisions answer has only 'decisions' (not {stray}). Expected {_EXPECTED}"
        if not isinstance(items, list) or len(items) != len(tools):
            count = f"{len(items)} decisions" if isinstance(items, list) else "decisions that are not a list"
            return (
                f"invalid answer: {count} for {len(tools)} action request(s) ({', '.join(tools)}); send one "
                "decision per action request, in order"
            )
        listed = True
    elif len(tools) == 1 or answer == {"type": "resolved"}:  # "mark as resolved" settles every call at once
        items, listed = [answer] * len(tools), False
    else:
        return (
            f"invalid answer {answer!r}: this approval asks about {len(tools)} calls ({', '.join(tools)}); answer "
            "with {'decisions': [...]}, one decision per action request, in order"
        )
    decided: list[Decision] = []
    for n, (item, tool) in enumerate(zip(items, tools, strict=True)):
        parsed = _one(item, tool)
        if isinstance(parsed, str):
            return f"decision {n} ({tool}): {parsed}" if listed else parsed
        decided.append(parsed)
    return decided


def _one(item: Any, tool: str) -> Decision | str:
    """The decision on one call to `tool`, or what is wrong with it."""
    keel = _from_langchain(item, tool)
    if isinstance(keel, str):
        return keel
    try:
        parsed = Decision.model_validate(keel)
    except ValidationError as exc:
        why = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return f"invalid decision {item!r}: {why}. Expected {_EXPECTED}"
    review = _REVIEW[parsed.type]
    if review is not None and review not in (allowed := TOOLS[tool].allowed_decisions):
        return f"{tool} does not allow {parsed.type!r} decisions; allowed: {', '.join(allowed)}"
    if parsed.type == "edit":
        if parsed.args is None:
            return "an edit needs 'args': the complete new arguments"
        if problem := validation_problem(TOOLS[tool], parsed.args):
            return problem
        # As the schema coerces them (a form's "49" is 49.0): what the call runs with, and what the audit records.
        coerced = TOOLS[tool].args.model_validate(parsed.args).model_dump(mode="json", exclude_unset=True)
        return parsed.model_copy(update={"args": coerced})
    if parsed.type == "respond" and not parsed.message:
        return "a respond decision needs 'message': the text the agent gets instead of the tool's result"
    return parsed


def _from_langchain(item: Any, tool: str) -> Any:
    """A decision in LangChain's vocabulary as keel's (anything else as it is), or what is wrong with it."""
    if not isinstance(item, dict):
        return item
    kind = item.get("type")
    if kind == "approve":
        if stray := sorted(str(key) for key in item if key != "type"):
            return f"an approve decision takes no {', '.join(stray)} (to change the arguments, send an edit)"
        return {"type": "accept"}
    if kind == "edit" and "edited_action" in item:
        action = item["edited_action"]
        if set(item) != {"type", "edited_action"}:
            return "an edit takes either LangChain's 'edited_action' or keel's 'args', not both"
        if not isinstance(action, dict) or set(action) != {"name", "args"} or not isinstance(action["args"], dict):
            return "an edit's edited_action is {'name': the tool, 'args': {the complete new arguments}}"
        if action["name"] != tool:
            return (
                f"the edit names {action['name']!r}, but this action is {tool!r}: an edit changes the arguments, "
                "not the tool"
            )
        return {"type": "edit", "args": action["args"]}
    if kind == "reject" and "message" in item:
        if stray := sorted(str(key) for key in item if key not in ("type", "message")):
            return f"a reject decision takes a 'message' (LangChain's) or a 'reason' (keel's), not {', '.join(stray)}"
        message = item["message"]
        return {"type": "reject"} if message is None else {"type": "reject", "reason": message}
    return item


def needed_permission(value: dict[str, Any]) -> str:
    """The permission deciding on this call (an element of `approval_calls`) needs (an approval raised before keel
    put it in the payload: the tool's current one)."""
    permission = value.get("permission")
    return permission if isinstance(permission, str) and permission else TOOLS[value["tool"]].approver_permission


def needs_two_people(value: dict[str, Any], decision: Any, limits: Limits) -> bool:
    """Whether the two-person rule holds for this call (an element of `approval_calls`) decided with `decision`
    (keel's vocabulary): for the proposed arguments (as the payload says), or for an edit's arguments under the
    deployment's `limits` (an edit must not take a call out of the rule)."""
    spec = TOOLS[value["tool"]]
    proposed = value.get("two_person")
    if not isinstance(proposed, bool):
        proposed = spec.needs_two_people(value["args"], limits)
    edited = decided_args(decision, value["args"]) if _kind(decision) == "edit" else None
    return proposed or (edited is not None and spec.needs_two_people(edited, limits))


def _kind(decision: Any) -> Any:
    return decision.get("type") if isinstance(decision, dict) else None


def decided_args(decision: Any, proposed: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments a valid decision (keel's vocabulary) runs the call with (None: it does not run)."""
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


def _keel_call(call: ToolCallDict, limits: Limits) -> dict[str, Any]:
    spec = TOOLS[call["name"]]
    return {
        "tool": call["name"],
        "args": call["args"],
        "description": spec.description,
        "tool_call_id": call["id"],
        "permission": spec.approver_permission,
        "two_person": spec.needs_two_people(call["args"], limits),
    }


def _action_request(call: ToolCallDict, reason: str, flag: str) -> dict[str, Any]:
    spec = TOOLS[call["name"]]
    description = f"{reason}\n\n{spec.name}: {spec.description}" + (f"\n\n{flag}" if flag else "")
    return {"name": call["name"], "args": call["args"], "description": description}


def _review_config(call: ToolCallDict) -> dict[str, Any]:
    spec = TOOLS[call["name"]]
    return {
        "action_name": call["name"],
        "allowed_decisions": list(spec.allowed_decisions),
        "args_schema": spec.args.model_json_schema(),
    }


def payload(task: ApprovalTask, error: str | None, requested_by: str, limits: Limits) -> dict[str, Any]:
    calls = task_calls(task)
    read = task.get("untrusted") or []
    # Present only when the agent had read outside text (nodes/untrusted.py): what it read, and what looked like orders.
    flagged = {"untrusted": read} if read else {}
    flag = untrusted.described(read) if read else ""
    langchain = {
        "action_requests": [_action_request(call, task["reason"], flag) for call in calls],
        "review_configs": [_review_config(call) for call in calls],
    }
    if len(calls) > 1:
        keel = {"calls": [_keel_call(call, limits) for call in calls], "agent": task["agent"], "reason": task["reason"]}
        return {**keel, "error": error, "requested_by": requested_by, **flagged, **langchain}
    one = _keel_call(calls[0], limits)
    return {
        "tool": one["tool"],
        "args": one["args"],
        "agent": task["agent"],
        "reason": task["reason"],
        "description": one["description"],
        "tool_call_id": one["tool_call_id"],
        "error": error,
        "permission": one["permission"],
        "two_person": one["two_person"],
        "requested_by": requested_by,
        **flagged,
        **langchain,
    }


async def approval(
    task: ApprovalTask, runtime: Runtime[Context], config: RunnableConfig
) -> dict[str, list[ToolMessage]]:
    calls = task_calls(task)
    error: str | None = None
    requested_by = requester(config)
    while True:  # each invalid answer asks again; LangGraph matches resume values to interrupts by order
        value = payload(task, error, requested_by, runtime.context.limits)
        decided = parse_answer(interrupt(value), [call["name"] for call in calls])
        if isinstance(decided, list):
            break
        error = decided
    # In the turn's order; a crash between two calls replays the first with its idempotency key (its recorded result).
    done = [await _carry_out(call, d, runtime, task["agent"]) for call, d in zip(calls, decided, strict=True)]
    return {"messages": done}


async def _carry_out(call: ToolCallDict, decision: Decision, runtime: Runtime[Context], agent: str) -> ToolMessage:
    name = call["name"]
    if decision.type == "reject":
        why = decision.reason or "no reason given"
        reply = f"Error: a reviewer rejected {name} and it did not run. Reason: {why}"
        return ToolMessage(content=reply, tool_call_id=call["id"], name=name, status="error")
    if decision.type == "respond":
        reply = f"A reviewer answered instead of running {name}: {decision.message}"
        return ToolMessage(content=reply, tool_call_id=call["id"], name=name)
    if decision.type == "resolved":
        reply = f"A reviewer marked this request resolved; {name} did not run. Do not propose it again."
        return ToolMessage(content=reply, tool_call_id=call["id"], name=name, status="error")
    approved = ToolCallDict(name=name, args=decision.args or call["args"], id=call["id"])
    # Policies again: an edit's arguments are new, and the desk may have changed while the approval waited.
    if refused := await refusal(approved, TOOLS[name], tool_context(runtime, approved, agent)):
        return refused
    return await execute(approved, TOOLS[name], runtime, agent)
