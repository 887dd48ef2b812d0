"""keel.run_events: appending a run's events and reading them back with the run's status."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from server.db.pool import Connection, Pool
from server.records import RunStatus
from server.runs.deltas import rebuild
from server.runs.notify import EVENTS_CHANNEL
from server.runs.recent import Event

# Appending one run's events, for the log's own writes and for the statement that finishes a run (with
# `append_params`). The arrays go in binary (`%b`): psycopg escapes a text-format array element by element in
# Python, ~25 µs per JSON event. A large event may be stored as a difference (server/runs/deltas.py).
APPEND_EVENTS = """INSERT INTO keel.run_events (run_id, seq, event, data, base, copies)
    SELECT %(run_id)s, * FROM unnest(%(seqs)b::bigint[], %(names)b::text[], %(datas)b::text[],
                                     %(bases)b::bigint[], %(copies)b::text[])"""
# An event's chain of differences back to the nearest whole event: newest first.
_CHAIN = """WITH RECURSIVE chain AS (
        SELECT seq, data, base, copies FROM keel.run_events WHERE run_id = %(run_id)s AND seq = %(seq)s
        UNION ALL
        SELECT e.seq, e.data, e.base, e.copies FROM chain c
        JOIN keel.run_events e ON e.run_id = %(run_id)s AND e.seq = c.base)
    SELECT seq, data, base, copies FROM chain"""


def append_params(run_id: uuid.UUID, events: Sequence[Event]) -> dict[str, Any]:
    """`APPEND_EVENTS`' parameters, and `channel`/`payload` for the followers' wake-up (payload None: none)."""
    return {
        "run_id": run_id,
        "seqs": [event.seq for event in events],
        "names": [event.event for event in events],
        "datas": [event.data if event.stored is None else event.stored.literals for event in events],
        "bases": [0 if event.stored is None else event.stored.base for event in events],
        "copies": ["" if event.stored is None else event.stored.copies for event in events],
        "channel": EVENTS_CHANNEL,
        "payload": f"{run_id} {events[-1].seq}" if events else None,
    }


async def read_events(
    pool: Pool, run_id: uuid.UUID, *, after: int, limit: int = 1000, known: Mapping[int, str] | None = None
) -> tuple[list[Event], RunStatus | None]:
    """Events after `after`, with their exact text, and the run's status in the same snapshot (None: no such
    run). The final events commit with the final status, so a terminal status with no `end` here means there is
    none to wait for. `known`: texts of earlier events the caller has (seq -> text), saving their rebuild."""
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                """SELECT r.status, e.seq, e.event, e.data, e.base, e.copies FROM keel.runs r
                   LEFT JOIN LATERAL (
                       SELECT seq, event, data, base, copies FROM keel.run_events
                       WHERE run_id = r.run_id AND seq > %s ORDER BY seq LIMIT %s) e ON true
                   WHERE r.run_id = %s""",
                (after, limit, run_id),
            )
        ).fetchall()
        if not rows:
            return [], None
        texts = dict(known or {})  # seq -> text, of the differences' bases
        events: list[Event] = []
        for row in rows:
            if row["seq"] is None:
                continue
            text = row["data"]
            if row["base"]:
                if row["base"] not in texts:  # from before `after`: rebuild it from its chain
                    texts[row["base"]] = await _text_of(conn, run_id, row["base"])
                text = rebuild(texts[row["base"]], row["copies"], text)
            texts[row["seq"]] = text
            events.append(Event(row["seq"], row["event"], text))
    return events, rows[0]["status"]


async def _text_of(conn: Connection, run_id: uuid.UUID, seq: int) -> str:
    chain = await (await conn.execute(_CHAIN, {"run_id": run_id, "seq": seq})).fetchall()
    if not chain or chain[-1]["base"]:
        raise LookupError(f"run {run_id}: event {seq} or an event it is stored against is missing")
    text: str = chain[-1]["data"]
    for link in reversed(chain[:-1]):
        text = rebuild(text, link["copies"], link["data"])
    return text


async def purge_expired_events(conn: Connection, *, retention_h: float) -> int:
    """Delete the event logs of runs that ended more than `retention_h` hours ago; returns rows deleted."""
    cur = await conn.execute(
        """DELETE FROM keel.run_events e USING keel.runs r
           WHERE e.run_id = r.run_id AND r.ended_at < now() - make_interval(secs => %s)""",
        (retention_h * 3600,),
    )
    return int(cur.rowcount)
