"""keel.approvals, the audit trail of approval decisions, and the pending approvals waiting on thread rows.

Every statement on keel.approvals is here. A decision's row is written by `record_decisions` in the caller's
transaction: the one that creates the run carrying the answer (or that discards the approval), so the row exists
exactly when the decision does. Lists are read with the caller's thread filters (SQL on the thread's metadata)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, LiteralString, cast

from psycopg import sql
from psycopg.types.json import Jsonb
from typing_extensions import TypedDict

from server.db.pool import Connection
from server.errors import Conflict

# extend and stop answer a budget interrupt (tool `budget`; final_args: an extend's amounts).
DecisionKind = Literal["accept", "edit", "reject", "respond", "discard", "resolved", "extend", "stop"]


class DecisionRecord(TypedDict):
    """One decision on one call of an approval interrupt, as keel.approvals keeps it."""

    interrupt_id: str
    action_index: int  # the call's index in the interrupt's action requests (0 when it asks about one call)
    thread_id: uuid.UUID
    run_id: uuid.UUID | None  # the run carrying the answer; None for a discard
    tool: str
    proposed_args: dict[str, Any]
    decision: DecisionKind
    final_args: dict[str, Any] | None  # what the tool runs with; None when it does not run
    reason: str | None
    message: str | None
    decider: str
    decider_name: str
    requested_by: str


class DecidedRow(DecisionRecord):
    approval_id: int
    decided_at: dt.datetime
    superseded_at: dt.datetime | None


async def record_decisions(conn: Connection, decisions: Sequence[DecisionRecord], *, supersede: bool) -> None:
    """Insert the rows (all of one thread) in the caller's transaction, which has checked that each approval is
    pending. A decision already recorded for one of them stands (`Conflict`: nothing is written once the caller's
    transaction rolls back), unless `supersede`: the approval is pending at the thread's head, so that decision
    never took effect (its run was rolled back, cancelled or failed before it got past the approval). Its row is
    then marked superseded and kept."""
    if not decisions:
        return
    ids = list(dict.fromkeys(d["interrupt_id"] for d in decisions))
    if supersede:
        await conn.execute(
            """UPDATE keel.approvals SET superseded_at = now()
               WHERE thread_id = %s AND interrupt_id = ANY(%s) AND superseded_at IS NULL""",
            (decisions[0]["thread_id"], ids),
        )
    taken = []
    for decision in decisions:
        params = {**decision, "proposed_args": Jsonb(decision["proposed_args"]), "final_args": _json(decision)}
        cur = await conn.execute(_INSERT, params)
        if await cur.fetchone() is None and decision["interrupt_id"] not in taken:
            taken.append(decision["interrupt_id"])
    if taken:
        raise Conflict(f"approval {', '.join(taken)} was decided already; an approval is decided once")


_INSERT: LiteralString = """
    INSERT INTO keel.approvals (interrupt_id, action_index, thread_id, run_id, tool, proposed_args, decision,
                                final_args, reason, message, decider, decider_name, requested_by)
    VALUES (%(interrupt_id)s, %(action_index)s, %(thread_id)s, %(run_id)s, %(tool)s, %(proposed_args)s,
            %(decision)s, %(final_args)s, %(reason)s, %(message)s, %(decider)s, %(decider_name)s, %(requested_by)s)
    ON CONFLICT (thread_id, interrupt_id, action_index) WHERE superseded_at IS NULL DO NOTHING
    RETURNING interrupt_id"""


def _json(decision: DecisionRecord) -> Jsonb | None:
    return None if decision["final_args"] is None else Jsonb(decision["final_args"])


async def thread_decisions(conn: Connection, thread_id: uuid.UUID, *, limit: int, offset: int) -> list[DecidedRow]:
    """The thread's decisions, newest first."""
    cur = await conn.execute(
        """SELECT * FROM keel.approvals WHERE thread_id = %s
           ORDER BY decided_at DESC, interrupt_id, action_index LIMIT %s OFFSET %s""",
        (thread_id, limit, offset),
    )
    return cast(list[DecidedRow], await cur.fetchall())


async def run_decisions(conn: Connection, run_id: uuid.UUID) -> list[DecidedRow]:
    """The decisions a run carries (what its trace records)."""
    cur = await conn.execute(
        "SELECT * FROM keel.approvals WHERE run_id = %s ORDER BY interrupt_id, action_index", (run_id,)
    )
    return cast(list[DecidedRow], await cur.fetchall())


async def visible_decisions(
    conn: Connection, thread_clause: sql.Composable, *, limit: int, offset: int
) -> list[DecidedRow]:
    """Decisions on the threads `thread_clause` (a condition on keel.threads `t`) admits, newest first."""
    query = sql.SQL(
        """SELECT a.* FROM keel.approvals a JOIN keel.threads t ON t.thread_id = a.thread_id
           WHERE {} ORDER BY a.decided_at DESC, a.interrupt_id, a.action_index LIMIT {} OFFSET {}"""
    ).format(thread_clause, sql.Literal(limit), sql.Literal(offset))
    return cast(list[DecidedRow], await (await conn.execute(query)).fetchall())


class PendingRow(TypedDict):
    thread_id: uuid.UUID
    interrupt_id: str
    value: dict[str, Any]
    waiting_since: dt.datetime


async def pending_approvals(
    conn: Connection,
    thread_clause: sql.Composable,
    *,
    keys: Collection[str],
    batch_keys: Collection[str],
    permissions: Mapping[str, str],
    allowed: Collection[str] | None,
    decider: str | None,
    limit: int,
    offset: int,
) -> list[PendingRow]:
    """Approval interrupts waiting on the threads `thread_clause` admits, that a decider may decide, newest first.

    `keys` are those every approval payload of one call has, `batch_keys` those of several calls (in `calls`); a
    budget interrupt (nodes/budget.py) counts as one call to tool `budget` (give `permissions` its permission);
    `permissions` maps each approval tool to the permission its
    approvals need when the payload names none; `allowed` is the decider's permissions (None: not checked, auth is
    off); `decider` the decider's identity (None: no identity, so no two-person approval is decidable), left out
    of the two-person approvals it asked for (and of those whose asker is unknown).
    """
    perms = Jsonb(dict(permissions))
    # Conditions on each call `c.call` the approval asks about: one, or an interrupt's `calls` (one model turn's);
    # deciding the interrupt decides them all, so the decider must be allowed every one.
    needed = sql.SQL("coalesce(c.call->>'permission', {}::jsonb->>(c.call->>'tool'))").format(sql.Literal(perms))
    two_person = sql.SQL("coalesce((c.call->>'two_person')::boolean, false)")
    may: list[sql.Composable] = [sql.SQL("c.call->>'tool' = ANY({})").format(sql.Literal(list(permissions)))]
    if allowed is not None:
        may.append(sql.SQL("{} = ANY({})").format(needed, sql.Literal(list(allowed))))
    if decider is None:
        may.append(sql.SQL("NOT {}").format(two_person))
    else:
        may.append(
            sql.SQL("NOT ({} AND coalesce(i.item->'value'->>'requested_by', '') IN ('', {}))").format(
                two_person, sql.Literal(decider)
            )
        )
    query = sql.SQL(
        """SELECT t.thread_id, i.item->>'id' AS interrupt_id, i.item->'value' AS value, t.updated_at AS waiting_since
           FROM keel.threads t, jsonb_each(t.interrupts) e,
                jsonb_array_elements(CASE jsonb_typeof(e.value) WHEN 'array' THEN e.value
                                     ELSE jsonb_build_array(e.value) END) i(item),
                LATERAL (SELECT CASE WHEN jsonb_typeof(i.item->'value') <> 'object' THEN '[]'::jsonb
                                     WHEN i.item->'value'->>'type' = 'budget' AND i.item->'value' ? 'exceeded'
                                     THEN jsonb_build_array(jsonb_build_object(
                                          'tool', 'budget', 'permission', i.item->'value'->'permission'))
                                     WHEN i.item->'value' ? 'tool' THEN jsonb_build_array(i.item->'value')
                                     WHEN jsonb_typeof(i.item->'value'->'calls') = 'array' THEN i.item->'value'->'calls'
                                     ELSE '[]'::jsonb END AS calls) v
           WHERE t.status = 'interrupted' AND {} AND jsonb_typeof(i.item->'value') = 'object'
             AND (i.item->'value' ?& {} OR i.item->'value' ?& {} OR i.item->'value'->>'type' = 'budget')
             AND jsonb_array_length(v.calls) > 0
             AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v.calls) c(call)
                             WHERE jsonb_typeof(c.call) <> 'object' OR NOT coalesce(({}), false))
           ORDER BY t.updated_at DESC, t.thread_id, interrupt_id LIMIT {} OFFSET {}"""
    ).format(
        thread_clause,
        sql.Literal(sorted(keys)),
        sql.Literal(sorted(batch_keys)),
        sql.SQL(" AND ").join(may),
        sql.Literal(limit),
        sql.Literal(offset),
    )
    return cast(list[PendingRow], await (await conn.execute(query)).fetchall())


# The thread's budget decisions in effect (rows of tool `budget`, not superseded), for the budget meter's one read at
# a run's start (store/budget.py, which orders them by decided_at, approval_id); `%(thread)s` is the thread.
BUDGET_DECISIONS = """SELECT * FROM keel.approvals
    WHERE thread_id = %(thread)s AND tool = 'budget' AND superseded_at IS NULL"""
