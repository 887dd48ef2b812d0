"""Approvals: who may decide one, the audit row each decision leaves, and the lists the API serves.

A decision is a resume answering one of keel's approval interrupts (nodes/approval.py), through any run create
path, a run's `command.goto` to the end ("mark as resolved"), or a state update discarding one. An interrupt can
ask about several calls (one model turn's): each is decided, checked and audited on its own (one row per call, by
its `action_index`), whichever vocabulary the answer uses (LangChain's decisions are recorded as keel's kinds:
approve as accept, a reject's message as its reason). What the decider needs comes from the pending interrupt
alone:

- with auth (langgraph.json `auth`), the permission the payload names (the tool's `approver_permission`,
  default `approvals:decide`): without it, 403 naming it, and nothing changes;
- the two-person rule (`two_person` in the payload, or an edit whose arguments fall under the tool's rule with the
  deployment's amounts, KEEL_TWO_PERSON_REFUND_USD, the same the graphs compute the payload's with): the
  decider must be an authenticated identity other than the one that started the run that asked (`requested_by`).
  Without auth no one has an identity, so such an approval cannot be decided at all (403): safe by default.

Without auth the permission is not checked (every caller may decide a one-person approval, as before).
The checks run in the transaction that locked the thread row, and the audit rows are written in it, with the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from psycopg import sql

from nodes.approval import (
    BATCH_KEYS,
    PAYLOAD_KEYS,
    approval_calls,
    decided_args,
    is_approval,
    needed_permission,
    needs_two_people,
    parse_answer,
)
from nodes.budget import PERMISSION as BUDGET_PERMISSION
from nodes.budget import is_budget
from server.auth.access import Access
from server.auth.filters import metadata_clause
from server.db.pool import Connection, Pool
from server.errors import Forbidden
from server.runs import store
from server.runs.store import approvals as audit
from server.runs.store.approvals import DecisionRecord
from server.serialize import to_json_compatible
from server.services.access import thread_filters, visible_thread
from server.services.budget_decisions import budget_decision, budget_pending_json
from tools import TOOLS
from tools.limits import Limits
from tools.spec import Risk

Interrupt = Mapping[str, Any]
# Without an edit, the payload's own `two_person` (computed with the deployment's limits when the approval was asked)
# decides; these defaults count only for approvals raised before keel put `two_person` in the payload.
_PAYLOAD_SAYS = Limits()
Status = Literal["pending", "decided"]
_EXTRA_FIELDS = {"edit": (), "reject": ("reason",), "respond": ("message",)}


def decisions(
    access: Access,
    thread_id: uuid.UUID,
    answers: Mapping[str, Any],
    pending: Mapping[str, Interrupt],
    limits: Limits,
) -> list[DecisionRecord]:
    """The audit rows of the approvals `answers` decides (interrupt id → answer; `pending` their interrupts), one
    per call decided, after checking that `access`'s user may decide each: `Forbidden` (403) otherwise, naming what
    is missing. Answers to interrupts that are not keel approvals are no decisions (no check, no row). The rows get
    their run in `record`. `limits` are the deployment's (KEEL_TWO_PERSON_REFUND_USD), as the graphs get them."""
    rows: list[DecisionRecord] = []
    for interrupt_id, answer in answers.items():
        value = (pending.get(interrupt_id) or {}).get("value")
        if is_budget(value):
            rows.append(budget_decision(access, thread_id, interrupt_id, value, answer))
            continue
        if not is_approval(value):
            continue
        calls = approval_calls(value)
        decided = parse_answer(answer, [call["tool"] for call in calls])
        # `decision_problem` has checked the answer (server/services/commands.py): one decision per call.
        assert isinstance(decided, list), decided
        for index, (call, decision) in enumerate(zip(calls, decided, strict=True)):
            keel = decision.as_answer()
            check_decider(access, interrupt_id, call, keel, limits)
            rows.append(_record(access, thread_id, interrupt_id, index, call, decision.type, keel))
    return rows


def discards(access: Access, thread_id: uuid.UUID, pending: Mapping[str, Interrupt]) -> list[DecisionRecord]:
    """The audit rows of a state update that drops these pending interrupts, checked as decisions are: dropping an
    approval settles it as surely as answering it."""
    rows: list[DecisionRecord] = []
    for interrupt_id, item in pending.items():
        value = item.get("value")
        if is_budget(value):
            rows.append(budget_decision(access, thread_id, interrupt_id, value, None))
        if is_approval(value):
            for index, call in enumerate(approval_calls(value)):
                check_decider(access, interrupt_id, call, None, _PAYLOAD_SAYS)
                rows.append(_record(access, thread_id, interrupt_id, index, call, "discard", None))
    return rows


async def record(
    conn: Connection, decided: Sequence[DecisionRecord], *, run_id: uuid.UUID | None, at_head: bool
) -> None:
    """Write the audit rows in the caller's transaction (the one that creates `run_id`, or discards); 409 when an
    approval was decided already (see `store.approvals.record_decisions`)."""
    rows = [DecisionRecord(**{**row, "run_id": run_id}) for row in decided]
    await audit.record_decisions(conn, rows, supersede=at_head)


def check_decider(access: Access, interrupt_id: str, value: Mapping[str, Any], answer: Any, limits: Limits) -> None:
    """`Forbidden` unless the user may decide this call (`value`: an element of `approval_calls`) with `answer`
    (keel's vocabulary; None for a discard) under the deployment's `limits` (for an edit's arguments)."""
    user = access.user
    tool = value["tool"]
    permission = needed_permission(dict(value))
    if access.enforced and not user.can(permission):
        raise Forbidden(
            f"deciding on approval {interrupt_id} ({tool}) needs the permission {permission!r}, which "
            f"{user.identity or 'this caller'} does not have; the approval is still pending"
        )
    if not needs_two_people(dict(value), answer, limits):
        return
    if not access.enforced or not user.is_authenticated or not user.identity:
        raise Forbidden(
            f"approval {interrupt_id} ({tool}) needs a second person (two-person rule), which needs authentication: "
            "keel serves without an `auth` entry in langgraph.json, so no one can decide it; the approval is "
            "still pending"
        )
    requested_by = value.get("requested_by")
    if not isinstance(requested_by, str) or not requested_by:
        raise Forbidden(
            f"approval {interrupt_id} ({tool}) needs a second person (two-person rule), but the run that asked for "
            "it has no identity, so no one can be told apart from it; the approval is still pending"
        )
    if requested_by == user.identity:
        raise Forbidden(
            f"approval {interrupt_id} ({tool}) needs a second person (two-person rule): {user.identity} started "
            "the run that asked for it, so someone else must decide; the approval is still pending"
        )


def _record(
    access: Access,
    thread_id: uuid.UUID,
    interrupt_id: str,
    action_index: int,
    value: Mapping[str, Any],
    kind: audit.DecisionKind,
    answer: Any,
) -> DecisionRecord:
    proposed = dict(value["args"]) if isinstance(value.get("args"), dict) else {}
    fields = {name: answer.get(name) for name in _EXTRA_FIELDS.get(kind, ())} if isinstance(answer, dict) else {}
    requested_by = value.get("requested_by")
    return DecisionRecord(
        interrupt_id=interrupt_id,
        action_index=action_index,
        thread_id=thread_id,
        run_id=None,
        tool=str(value["tool"]),
        proposed_args=_json_dict(proposed),
        decision=kind,
        final_args=_json_dict(decided_args(answer, proposed)),
        reason=_text(fields.get("reason")),
        message=_text(fields.get("message")),
        decider=access.user.identity,
        decider_name=access.user.display_name or access.user.identity,
        requested_by=requested_by if isinstance(requested_by, str) else "",
    )


def _json_dict(value: dict[str, Any] | None) -> Any:
    return None if value is None else to_json_compatible(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def decision_json(row: audit.DecidedRow) -> dict[str, Any]:
    shown = to_json_compatible(dict(row))
    assert isinstance(shown, dict)
    return shown


def pending_json(row: audit.PendingRow) -> dict[str, Any]:
    """An inbox entry: one per interrupt. For an interrupt of several calls (one model turn's), `tool`, `args`,
    `description`, `tool_call_id` and `permission` are its first call's, `two_person` holds if it holds for any, and
    `calls` lists them all (answered by one decisions list, in order)."""
    value = row["value"]
    if is_budget(value):
        return budget_pending_json(row)
    calls = approval_calls(value)
    first = calls[0]
    shown = {
        "interrupt_id": row["interrupt_id"],
        "thread_id": row["thread_id"],
        "tool": first["tool"],
        "args": first["args"],
        "agent": value.get("agent"),
        "reason": value.get("reason"),
        "description": first.get("description"),
        "tool_call_id": first.get("tool_call_id"),
        "permission": needed_permission(first),
        "two_person": any(needs_two_people(call, None, _PAYLOAD_SAYS) for call in calls),
        "requested_by": value.get("requested_by") or "",
        "waiting_since": row["waiting_since"],
        "calls": [
            {
                "tool": call["tool"],
                "args": call["args"],
                "description": call.get("description"),
                "tool_call_id": call.get("tool_call_id"),
                "permission": needed_permission(call),
                "two_person": needs_two_people(call, None, _PAYLOAD_SAYS),
            }
            for call in calls
        ],
        "action_requests": value.get("action_requests"),
        "review_configs": value.get("review_configs"),
        "untrusted": value.get("untrusted") or [],  # nodes/untrusted.py: what the agent had read before proposing
    }
    result = to_json_compatible(shown)
    assert isinstance(result, dict)
    return result


# Which permission each approval tool's approvals need when the payload does not say (raised before keel put it in).
def _tool_permissions() -> dict[str, str]:
    return {name: spec.approver_permission for name, spec in TOOLS.items() if spec.risk is Risk.APPROVAL_REQUIRED}


async def thread_approvals(
    pool: Pool, access: Access, thread_id: uuid.UUID, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The thread's decisions, newest first; 404 unless the caller may read the thread."""
    async with pool.connection() as conn:
        await visible_thread(conn, access, "read", thread_id)
        await store.get_thread(conn, thread_id)  # an unknown thread is a 404 too (no filters: nothing checked)
        rows = await audit.thread_decisions(conn, thread_id, limit=limit, offset=offset)
    return [decision_json(row) for row in rows]


async def list_approvals(
    pool: Pool, access: Access, *, status: Status, limit: int, offset: int
) -> list[dict[str, Any]]:
    """`pending`: approvals waiting on the threads the caller may read and that the caller may decide (the inbox);
    `decided`: the decisions on the threads the caller may read (both newest first)."""
    # The threads the caller may search, as a thread search asks the `threads.search` handler.
    value: dict[str, Any] = {"metadata": {}, "values": None, "status": "interrupted" if status == "pending" else None}
    clause = metadata_clause(
        await thread_filters(access, "search", value | {"limit": limit, "offset": offset}), sql.SQL("t.metadata")
    )
    async with pool.connection() as conn:
        if status == "decided":
            decided = await audit.visible_decisions(conn, clause, limit=limit, offset=offset)
            return [decision_json(row) for row in decided]
        user = access.user
        rows = await audit.pending_approvals(
            conn,
            clause,
            keys=PAYLOAD_KEYS,
            batch_keys=BATCH_KEYS,
            permissions=_tool_permissions() | {"budget": BUDGET_PERMISSION},
            allowed=user.permissions if access.enforced else None,
            decider=user.identity if access.enforced and user.is_authenticated and user.identity else None,
            limit=limit,
            offset=offset,
        )
    return [pending_json(row) for row in rows]
