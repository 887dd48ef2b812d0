"""Approvals: who may decide one, the audit row each decision leaves, and the lists the API serves.

A decision is a resume answering one of keel's approval interrupts (nodes/approval.py), through any run create
path, or a state update discarding one. What the decider needs comes from the pending interrupt alone:

- with auth (langgraph.json `auth`), the permission the payload names (the tool's `approver_permission`,
  default `approvals:decide`): without it, 403 naming it, and nothing changes;
- the two-person rule (`two_person` in the payload, or an edit whose arguments fall under the tool's rule): the
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

from nodes.approval import PAYLOAD_KEYS, decided_args, is_approval, needed_permission, needs_two_people
from server.auth.access import Access
from server.auth.filters import metadata_clause
from server.db.pool import Connection, Pool
from server.errors import Forbidden
from server.runs import store
from server.runs.store import approvals as audit
from server.runs.store.approvals import DecisionRecord
from server.serialize import to_json_compatible
from server.services.access import thread_filters, visible_thread
from tools import TOOLS
from tools.spec import Risk

Interrupt = Mapping[str, Any]
Status = Literal["pending", "decided"]
_EXTRA_FIELDS = {"edit": (), "reject": ("reason",), "respond": ("message",)}


def decisions(
    access: Access,
    thread_id: uuid.UUID,
    answers: Mapping[str, Any],
    pending: Mapping[str, Interrupt],
) -> list[DecisionRecord]:
    """The audit rows of the approvals `answers` decides (interrupt id → answer; `pending` their interrupts), after
    checking that `access`'s user may decide each: `Forbidden` (403) otherwise, naming what is missing. Answers
    to interrupts that are not keel approvals are no decisions (no check, no row). The rows get their run in
    `record`."""
    rows: list[DecisionRecord] = []
    for interrupt_id, answer in answers.items():
        value = (pending.get(interrupt_id) or {}).get("value")
        if not is_approval(value):
            continue
        check_decider(access, interrupt_id, value, answer)
        # `decision_problem` has checked the answer: a dict whose type is one of the four decisions.
        rows.append(_record(access, thread_id, interrupt_id, value, answer["type"], answer))
    return rows


def discards(access: Access, thread_id: uuid.UUID, pending: Mapping[str, Interrupt]) -> list[DecisionRecord]:
    """The audit rows of a state update that drops these pending interrupts, checked as decisions are: dropping an
    approval settles it as surely as answering it."""
    rows: list[DecisionRecord] = []
    for interrupt_id, item in pending.items():
        value = item.get("value")
        if is_approval(value):
            check_decider(access, interrupt_id, value, None)
            rows.append(_record(access, thread_id, interrupt_id, value, "discard", None))
    return rows


async def record(
    conn: Connection, decided: Sequence[DecisionRecord], *, run_id: uuid.UUID | None, at_head: bool
) -> None:
    """Write the audit rows in the caller's transaction (the one that creates `run_id`, or discards); 409 when an
    approval was decided already (see `store.approvals.record_decisions`)."""
    rows = [DecisionRecord(**{**row, "run_id": run_id}) for row in decided]
    await audit.record_decisions(conn, rows, supersede=at_head)


def check_decider(access: Access, interrupt_id: str, value: Mapping[str, Any], answer: Any) -> None:
    user = access.user
    tool = value["tool"]
    permission = needed_permission(dict(value))
    if access.enforced and not user.can(permission):
        raise Forbidden(
            f"deciding on approval {interrupt_id} ({tool}) needs the permission {permission!r}, which "
            f"{user.identity or 'this caller'} does not have; the approval is still pending"
        )
    if not needs_two_people(dict(value), answer):
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
    value: Mapping[str, Any],
    kind: audit.DecisionKind,
    answer: Any,
) -> DecisionRecord:
    proposed = dict(value["args"]) if isinstance(value.get("args"), dict) else {}
    fields = {name: answer.get(name) for name in _EXTRA_FIELDS.get(kind, ())} if isinstance(answer, dict) else {}
    requested_by = value.get("requested_by")
    return DecisionRecord(
        interrupt_id=interrupt_id,
        thread_id=thread_id,
        run_id=None,
        tool=str(value["tool"]),
        proposed_args=_json_dict(proposed),
        decision=kind,
        final_args=None if kind == "discard" else _json_dict(decided_args(answer, proposed)),
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
    value = row["value"]
    shown = {
        "interrupt_id": row["interrupt_id"],
        "thread_id": row["thread_id"],
        "tool": value["tool"],
        "args": value["args"],
        "agent": value.get("agent"),
        "reason": value.get("reason"),
        "description": value.get("description"),
        "tool_call_id": value.get("tool_call_id"),
        "permission": needed_permission(value),
        "two_person": needs_two_people(value, None),
        "requested_by": value.get("requested_by") or "",
        "waiting_since": row["waiting_since"],
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
            permissions=_tool_permissions(),
            allowed=user.permissions if access.enforced else None,
            decider=user.identity if access.enforced and user.is_authenticated and user.identity else None,
            limit=limit,
            offset=offset,
        )
    return [pending_json(row) for row in rows]
