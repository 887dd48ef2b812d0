"""keel.run_events: appending a run's events and reading them back with the run's status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from server.db.pool import Connection, Pool
from server.records import RunStatus
from server.runs.notify import EVENTS_CHANNEL
from server.runs.recent import Event

# Appending one run's events, for the log's own writes and for the statement that finishes a run (with
# `append_params`). The arrays go in binary (`%b`): psycopg escapes a text-format array element by element in
# Python, ~25 µs per JSON event.
APPEND_EVENTS = """INSERT INTO keel.run_events (run_id, seq, event, data)
    SELECT %(run_id)s, * FROM unnest(%(seqs)b::bigint[], %(names)b::text[], %(datas)b::text[])"""


def append_params(run_id: uuid.UUID, events: Sequence[Event]) -> dict[str, Any]:
    """`APPEND_EVENTS`' parameters, and `channel`/`payload` for the followers' wake-up (payload None: none)."""
    return {
        "run_id": run_id,
        "seqs": [event.seq for event in events],
        "names": [event.event for event in events],
        "datas": [event.data for event in events],
        "channel": EVENTS_CHANNEL,
        "payload": f"{run_id} {events[-1].seq}" if events else None,
    }


async def read_events(
    pool: Pool, run_id: uuid.UUID, *, after: int, limit: int = 1000
) -> tuple[list[Event], RunStatus | None]:
    """Events after `after`, and the run's status in the same snapshot (None: no such run). The final events
    commit with the final status, so a terminal status with no `end` here means there is none to wait for."""
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                """SELECT r.status, e.seq, e.event, e.data FROM keel.runs r
                   LEFT JOIN LATERAL (
                       SELECT seq, event, data FROM keel.run_events
                       WHERE run_id = r.run_id AND seq > %s ORDER BY seq LIMIT %s) e ON true
                   WHERE r.run_id = %s""",
                (after, limit, run_id),
            )
        ).fetchall()
    if not rows:
        return [], None
    return [Event(row["seq"], row["event"], row["data"]) for row in rows if row["seq"] is not None], rows[0]["status"]


async def purge_expired_events(conn: Connection, *, retention_h: float) -> int:
    """Delete the event logs of runs that ended more than `retention_h` hours ago; returns rows deleted."""
    cur = await conn.execute(
        """DELETE FROM keel.run_events e USING keel.runs r
           WHERE e.run_id = r.run_id AND r.ended_at < now() - make_interval(secs => %s)""",
        (retention_h * 3600,),
    )
    return int(cur.rowcount)
