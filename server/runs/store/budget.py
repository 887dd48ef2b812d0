"""What budgets read from keel.runs (server/runs/budget.py): runs' usage. (Their decisions: store/approvals.py.)"""

from __future__ import annotations

import uuid
from typing import Any

from server.db.pool import Connection


async def run_usage(conn: Connection, run_id: uuid.UUID) -> dict[str, Any]:
    row = await (await conn.execute("SELECT usage FROM keel.runs WHERE run_id = %s", (run_id,))).fetchone()
    return dict(row["usage"] or {}) if row is not None else {}


async def thread_spend(conn: Connection, thread_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, float]:
    """The spend of the thread's runs other than `run_id` (a run without usage yet counts 0)."""
    row = await (
        await conn.execute(
            """SELECT coalesce(sum((usage->>'model_calls')::float8), 0) AS model_calls,
                      coalesce(sum((usage->>'total_tokens')::float8), 0) AS tokens,
                      coalesce(sum((usage->>'cost')::float8), 0) AS dollars,
                      coalesce(sum((usage->>'tool_calls')::float8), 0) AS tool_calls,
                      coalesce(sum((usage->>'wall_s')::float8), 0) AS wall_s
               FROM keel.runs WHERE thread_id = %s AND run_id <> %s""",
            (thread_id, run_id),
        )
    ).fetchone()
    assert row is not None
    return {key: float(value) for key, value in row.items()}
