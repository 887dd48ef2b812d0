"""The per-run event log: every SSE event of a run, numbered, in Postgres.

Writers batch: token events (`messages…`) wait up to `flush_s` for company, every other event flushes at
once, and one statement both inserts the batch and NOTIFYs followers. Readers replay from any sequence
number and then follow live, so any API process can serve any run's stream, and a reconnect with
Last-Event-ID gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from server.db.pool import Connection, Pool
from server.runs.notify import EVENTS_CHANNEL, Notifier, wait

_TERMINAL = ("success", "error", "timeout", "interrupted")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    event: str
    data: str  # JSON text, sent as is


class EventLog:
    """Appends one run's events. Sequence numbers continue across attempts of the same run."""

    def __init__(self, pool: Pool, run_id: uuid.UUID, *, next_seq: int, flush_s: float = 0.02, max_batch: int = 200):
        self._pool = pool
        self._run_id = run_id
        self._seq = next_seq
        self._flush_s = flush_s
        self._max_batch = max_batch
        self._buffer: list[tuple[int, str, str]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, pool: Pool, run_id: uuid.UUID) -> EventLog:
        async with pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT coalesce(max(seq), 0) + 1 AS next FROM keel.run_events WHERE run_id = %s", (run_id,)
                )
            ).fetchone()
        assert row is not None
        return cls(pool, run_id, next_seq=int(row["next"]))

    def add(self, event: str, data: str) -> int:
        """Buffer an event without writing it (see `flush(conn)` to commit it with other changes)."""
        seq = self._seq
        self._seq += 1
        self._buffer.append((seq, event, data))
        return seq

    async def append(self, event: str, data: str) -> int:
        seq = self.add(event, data)
        if event.startswith("messages") and len(self._buffer) < self._max_batch:
            if self._timer is None or self._timer.done():
                self._timer = asyncio.create_task(self._flush_later())
        else:
            await self.flush()
        return seq

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_s)
        await self.flush()

    async def flush(self, conn: Connection | None = None) -> None:
        """Write what is buffered: on `conn` (inside the caller's transaction) or on a pooled connection."""
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return
            if conn is not None:
                await self._insert(conn, batch)
                return
            async with self._pool.connection() as own:
                await self._insert(own, batch)

    async def _insert(self, conn: Connection, batch: list[tuple[int, str, str]]) -> None:
        seqs, events, datas = zip(*batch, strict=True)
        # One statement: the insert and the wake-up commit together.
        await conn.execute(
            """WITH appended AS (
                   INSERT INTO keel.run_events (run_id, seq, event, data)
                   SELECT %s, * FROM unnest(%s::bigint[], %s::text[], %s::text[]))
               SELECT pg_notify(%s, %s)""",
            (self._run_id, list(seqs), list(events), list(datas), EVENTS_CHANNEL, str(self._run_id)),
        )

    async def close(self, conn: Connection | None = None) -> None:
        """Stop the token timer and write the rest (on `conn`, if given)."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush(conn)


async def read_events(pool: Pool, run_id: uuid.UUID, *, after: int, limit: int = 1000) -> list[Event]:
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT seq, event, data FROM keel.run_events WHERE run_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                (run_id, after, limit),
            )
        ).fetchall()
    return [Event(row["seq"], row["event"], row["data"]) for row in rows]


async def _run_status(pool: Pool, run_id: uuid.UUID) -> str | None:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT status FROM keel.runs WHERE run_id = %s", (run_id,))).fetchone()
    return None if row is None else str(row["status"])


async def follow(
    pool: Pool, notifier: Notifier, run_id: uuid.UUID, *, after: int, poll_s: float = 1.0
) -> AsyncIterator[Event]:
    """Events after `after`, replayed then live, until the run's `end` event (or the run is gone/ended)."""
    async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as wake:
        while True:
            events = await read_events(pool, run_id, after=after)
            for event in events:
                yield event
                after = event.seq
                if event.event == "end":
                    return
            if events:
                continue
            status = await _run_status(pool, run_id)
            if status is None or status in _TERMINAL:
                # Ended without an `end` in the log (cancelled while pending, retention): a last re-read
                # catches events committed between the two queries.
                for event in await read_events(pool, run_id, after=after):
                    yield event
                return
            await wait(wake, poll_s)
