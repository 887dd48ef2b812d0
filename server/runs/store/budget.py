"""What a run's budget meter reads when it starts (server/runs/budget.py): runs' usage and the thread's budget
decisions (keel.approvals rows of tool `budget`), in one statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from nodes.budget import QUANTITIES
from server.db.pool import Connection
from server.runs.store.approvals import BUDGET_DECISIONS

_DECISION = ("interrupt_id", "run_id", "decision", "final_args", "reason", "decider")


@dataclass(frozen=True)
class MeterReads:
    decisions: list[dict[str, Any]]  # the thread's budget decisions in effect (not superseded), oldest first
    thread_spend: dict[str, float]  # the spend of the thread's runs other than this one (no usage yet: 0)
    resumed_usage: dict[str, Any]  # the `usage` of the run this one resumes ({}: none)


async def meter_reads(
    conn: Connection, thread_id: uuid.UUID, run_id: uuid.UUID, resumed: uuid.UUID | None
) -> MeterReads:
    rows = await (
        await conn.execute(
            f"""WITH spend AS (
                   SELECT coalesce(sum((usage->>'model_calls')::float8), 0) AS model_calls,
                          coalesce(sum((usage->>'total_tokens')::float8), 0) AS tokens,
                          coalesce(sum((usage->>'cost')::float8), 0) AS dollars,
                          coalesce(sum((usage->>'tool_calls')::float8), 0) AS tool_calls,
                          coalesce(sum((usage->>'wall_s')::float8), 0) AS wall_s,
                          (SELECT usage FROM keel.runs WHERE run_id = %(resumed)s::uuid) AS resumed_usage
                   FROM keel.runs WHERE thread_id = %(thread)s AND run_id <> %(run)s)
               SELECT spend.*, d.interrupt_id, d.run_id, d.decision, d.final_args, d.reason, d.decider
               FROM spend LEFT JOIN LATERAL ({BUDGET_DECISIONS}) d ON true
               ORDER BY d.decided_at, d.approval_id""",
            {"thread": thread_id, "run": run_id, "resumed": resumed},
        )
    ).fetchall()
    first = rows[0]  # one row at least: the sums
    return MeterReads(
        decisions=[{key: row[key] for key in _DECISION} for row in rows if row["decision"] is not None],
        thread_spend={key: float(first[key]) for key in QUANTITIES},
        resumed_usage=dict(first["resumed_usage"] or {}),
    )
