"""Who may answer a budget interrupt (nodes/budget.py), and the keel.approvals row each answer leaves.

With auth, the permission the interrupt names (`approvals:decide`): without it, 403 and it stays pending. Without
auth every caller may answer, as for a one-person approval. The row: tool `budget`, decision `extend` (final_args:
the amounts) or `stop` (reason), or `discard` (a state update dropping it); proposed_args: the limits reached and
what was left. Runs read the extend and stop rows back for their meter (server/runs/budget.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from nodes.budget import PERMISSION
from server.auth.access import Access
from server.errors import Forbidden
from server.runs.store.approvals import DecisionKind, DecisionRecord, PendingRow
from server.serialize import to_json_compatible


def budget_decision(
    access: Access, thread_id: uuid.UUID, interrupt_id: str, value: Mapping[str, Any], answer: Any
) -> DecisionRecord:
    """The audit row of `answer` (checked already: server/services/commands.py; None: a discard), after checking
    that `access`'s user may decide it (`Forbidden` otherwise)."""
    user = access.user
    permission = value.get("permission")
    permission = permission if isinstance(permission, str) and permission else PERMISSION
    if access.enforced and not user.can(permission):
        raise Forbidden(
            f"answering budget interrupt {interrupt_id} needs the permission {permission!r}, which "
            f"{user.identity or 'this caller'} does not have; the budget interrupt is still pending"
        )
    kind: DecisionKind = "discard" if answer is None else ("stop" if answer["type"] == "stop" else "extend")
    by = answer.get("by") if kind == "extend" else None
    reason = answer.get("reason") if kind == "stop" else None
    requested_by = value.get("requested_by")
    proposed = {"exceeded": to_json_compatible(value.get("exceeded")), "left": to_json_compatible(value.get("left"))}
    return DecisionRecord(
        interrupt_id=interrupt_id,
        action_index=0,
        thread_id=thread_id,
        run_id=None,
        tool="budget",
        proposed_args=proposed,
        decision=kind,
        final_args=dict(by) if isinstance(by, dict) else None,
        reason=reason if isinstance(reason, str) else None,
        message=None,
        decider=user.identity,
        decider_name=user.display_name or user.identity,
        requested_by=requested_by if isinstance(requested_by, str) else "",
    )


def budget_pending_json(row: PendingRow) -> dict[str, Any]:
    """An inbox entry for a budget interrupt: tool `budget`, no call, and `budget` saying what was reached."""
    value = row["value"]
    shown: dict[str, Any] = {
        "interrupt_id": row["interrupt_id"],
        "thread_id": row["thread_id"],
        "tool": "budget",
        "args": {},
        "agent": value.get("agent"),
        "reason": None,
        "description": value.get("description"),
        "tool_call_id": None,
        "permission": value.get("permission") or PERMISSION,
        "two_person": False,
        "requested_by": value.get("requested_by") or "",
        "waiting_since": row["waiting_since"],
        "calls": [],
        "action_requests": None,
        "review_configs": None,
        "untrusted": [],  # a budget pause proposes no call
        "budget": {key: value.get(key) for key in ("exceeded", "spent", "left", "limits", "error")},
    }
    result = to_json_compatible(shown)
    assert isinstance(result, dict)
    return result
