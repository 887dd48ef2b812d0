"""The per-run event log: every SSE event of a run, numbered, in Postgres.

Writers never wait for the database on the graph's path: a background flusher writes what has accumulated,
token events (`messages…`) after up to `flush_s` for company, `metadata` with the run's first graph event,
any other event at once unless it follows a write within `burst_s` (then it waits that long: a run's quick
steps share a write), and one statement both inserts the batch and NOTIFYs followers; what is still waiting
when the run ends commits with its final status. A write failure is raised to the run at its next append.
Readers replay from any sequence number and then follow live, so any API process can serve any run's
stream, and a reconnect with Last-Event-ID gets exactly what it missed. Followers in the process that writes
the run take its committed batches from memory (`RecentEvents`), neither reading them back nor waiting for
their notification. A large event (a `values` event is the whole state) is stored as a difference from an
earlier one of the run (server/runs/deltas.py) and read back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence

from server.db.pool import Connection, Pool
from server.records import ACTIVE
from server.runs.deltas import KEEP, MIN_CHARS, Differ
from server.runs.notify import EVENTS_CHANNEL, Notifier, Waker, wait
from server.runs.recent import Event, RecentEvents
from server.runs.store.events import APPEND_EVENTS, append_params, read_events

__all__ = ["Event", "EventLog", "follow_batches", "read_events"]

# Not worth a write of their own: tokens come by the hundred (they wait up to `flush_s` for company), and
# `metadata` is followed by the run's first graph event (the client has the run's id from the response headers
# already): it waits up to _METADATA_WAIT_S for it, long enough to share its write on a busy host too.
_TOKENS = "messages"
_METADATA_WAIT_S = 0.1
# A non-token event within this long of the last write waits this long for the events that follow it (a burst
# of quick steps becomes one write); the first event after a pause is written at once.
_BURST_S = 0.02
_PUBLISH_WAIT_S = 0.25  # how long a follower waits for this process to publish a batch it was notified of
_FORGET_S = 5.0  # a finished run's last events stay in memory this long for followers still catching up


class EventLog:
    """Appends one run's events. Sequence numbers continue across attempts of the same run."""

    def __init__(
        self,
        pool: Pool,
        run_id: uuid.UUID,
        *,
        next_seq: int,
        recent: RecentEvents | None = None,
        flush_s: float = 0.02,
        burst_s: float = _BURST_S,
        max_batch: int = 200,
    ):
        self._pool = pool
        self._recent = recent
        if recent is not None:
            recent.open(run_id, next_seq)
        self._run_id = run_id
        self._seq = next_seq
        self._flush_s = flush_s
        self._burst_s = burst_s
        self._max_batch = max_batch
        self._buffer: list[Event] = []
        self._differ = Differ()
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._now = asyncio.Event()  # set: the flusher should stop waiting for more tokens
        self._failure: BaseException | None = None
        self._flushed_at = -burst_s  # when a batch was last written
        self._sealing = False  # set by seal(): what is still buffered goes with the run's final status
        self._metadata_waits = False  # the flusher is waiting up to _METADATA_WAIT_S

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
        self._buffer.append(Event(seq, event, data, self._differ.store(seq, event, data)))
        return seq

    async def append(self, event: str, data: str) -> int:
        if self._failure is not None:
            raise self._failure
        seq = self.add(event, data)
        if len(self._buffer) >= self._max_batch:
            await self.flush()  # back-pressure: a slow database slows the run rather than filling memory
        elif event.startswith(_TOKENS):
            self._start_flusher(urgent=False)
            if self._metadata_waits:  # the flusher waits longer, for metadata's sake: tokens wait only flush_s
                self._metadata_waits = False
                asyncio.get_running_loop().call_later(self._flush_s, self._now.set)
        elif event == "metadata":
            self._metadata_waits = True
            self._start_flusher(urgent=False, wait_s=_METADATA_WAIT_S)
        elif time.monotonic() - self._flushed_at < self._burst_s:
            # Steps are following each other quickly: the next ones will be here within milliseconds.
            self._start_flusher(urgent=False)
            asyncio.get_running_loop().call_later(self._burst_s, self._now.set)
        else:
            self._start_flusher(urgent=True)
        return seq

    def _start_flusher(self, *, urgent: bool, wait_s: float | None = None) -> None:
        if urgent:
            self._now.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_in_background(self._flush_s if wait_s is None else wait_s))

    async def _flush_in_background(self, wait_s: float) -> None:
        with contextlib.suppress(TimeoutError):  # waiting for company is optional
            async with asyncio.timeout(wait_s):  # no task per wait, unlike asyncio.wait_for
                await self._now.wait()
        self._now.clear()
        self._metadata_waits = False
        try:
            while self._buffer and not self._sealing:
                await self.flush()
        except Exception as exc:  # kept, and raised to the run by its next append or by close()
            self._failure = exc

    async def flush(self, conn: Connection | None = None) -> None:
        """Write what is buffered: on `conn` (inside the caller's transaction) or on a pooled connection."""
        async with self._lock:
            if self._failure is not None:
                # A batch was lost: what follows may be stored against its events, and must not be written
                # without them (nor with a gap in the sequence).
                raise self._failure
            batch, self._buffer = self._buffer, []
            if not batch:
                return
            if conn is not None:
                await self._insert(conn, batch)  # committed with the caller's transaction, read back from there
                return
            async with self._pool.connection() as own:
                await self._insert(own, batch)  # autocommit: committed on return
            self._flushed_at = time.monotonic()
            if self._recent is not None:
                self._recent.publish(self._run_id, batch)

    async def _insert(self, conn: Connection, batch: list[Event]) -> None:
        # One statement: the insert and the wake-up commit together.
        await conn.execute(
            f"WITH appended AS ({APPEND_EVENTS}) SELECT pg_notify(%(channel)s, %(payload)s)",
            append_params(self._run_id, batch),
        )

    async def _drain(self) -> None:
        """Let the background flusher finish now; a write it failed is raised here."""
        if self._flusher is not None:
            self._now.set()
            await self._flusher
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Wait for the background writes, then write the rest: for a run that stops here without final
        events (handed back, re-queued, rolled back, or taken over)."""
        await self._drain()
        await self.flush()
        if self._recent is not None:
            self._recent.done_writing(self._run_id)

    async def seal(self, last: Sequence[tuple[str, str]]) -> list[Event]:
        """Wait for a background write under way, then hand back what is still unwritten plus the `last` events,
        numbered, for the caller to write with the run's final status in one statement (whoever sees `end`
        sees the finished run). Events still waiting for company are not written on their own: they go with
        the final status (one statement, one notification and one SSE write fewer per run). Call `published()`
        once that statement has committed."""
        self._sealing = True
        await self._drain()
        for event, data in last:
            self.add(event, data)
        async with self._lock:
            batch, self._buffer = self._buffer, []
        return batch

    def published(self, final: list[Event]) -> None:
        """`final` (from `seal`) has committed: this process's followers may take it from memory."""
        if self._recent is not None:
            self._recent.publish(self._run_id, final)
            self._recent.done_writing(self._run_id)

    def release(self) -> None:
        """The run is done here, however it ended: nothing more is published, and its events leave memory
        once followers still catching up have had a moment to take them."""
        if self._recent is not None:
            self._recent.done_writing(self._run_id)
            asyncio.get_running_loop().call_later(_FORGET_S, self._recent.forget, self._run_id)


async def follow_batches(
    pool: Pool,
    notifier: Notifier,
    run_id: uuid.UUID,
    *,
    after: int,
    poll_s: float = 1.0,
    limit: int = 1000,
    created: bool = False,
) -> AsyncIterator[list[Event]]:
    """Events after `after`, replayed then live, until the run's `end` event (or the run is gone/ended),
    in the batches they were read in (a stream sends each batch as one write). `created`: the run was just
    created, so it has no events until a worker starts it, which notifies: nothing to read before that."""
    async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as wake:
        announced: int | None = None  # the newest seq a notification announced; None: unknown, read
        known: dict[int, str] = {}  # the last large events sent: what the next ones are likely stored against
        if created and not notifier.recent.covers(run_id, after):
            # A notification sent before this subscription is remembered (Notifier.subscribe) and wakes it at once.
            announced = _announced(wake) if await wait(wake, poll_s) else None
        while True:
            events = notifier.recent.after(run_id, after)
            over = False
            # From memory alone when this process writes the run from `after` on (the common case: a run streamed
            # by the process running it, which then needs no read and no notification), or memory has its `end`.
            from_memory = notifier.recent.covers(run_id, after) or (bool(events) and events[-1].event == "end")
            if (
                not from_memory
                and announced is not None
                and announced > after
                and (not events or events[-1].seq < announced)
            ):
                # Announced, not yet in memory: if this process writes the run, its publish is on the way.
                if await notifier.recent.published_up_to(run_id, announced, _PUBLISH_WAIT_S):
                    events = notifier.recent.after(run_id, after)
                if not events or events[-1].seq < announced:
                    announced = None  # not (all) in memory: read
            if not from_memory and announced is None:
                events, status = await read_events(pool, run_id, after=after, limit=limit, known=known)
                over = status is None or status not in ACTIVE  # ended without `end` (cancelled while pending)
            ended = next((i for i, event in enumerate(events) if event.event == "end"), None)
            if ended is not None:
                yield events[: ended + 1]
                return
            if events:
                yield events
                after = events[-1].seq
                _remember(known, events)
            if len(events) == limit:
                announced = None
                continue  # more are waiting
            if over:
                return
            if notifier.recent.covers(run_id, after):
                if not notifier.recent.after(run_id, after):  # nothing published while the last batch was sent
                    await notifier.recent.next_publish(run_id, poll_s)
                announced = None  # should it stop being written here without `end`: read what became of it
                continue
            # The run is still writing: anything appended after this read notifies (or the poll re-reads).
            announced = _announced(wake) if await wait(wake, poll_s) else None


def _remember(known: dict[int, str], events: list[Event]) -> None:
    known.update((event.seq, event.data) for event in events if len(event.data) >= MIN_CHARS)
    for seq in sorted(known)[:-KEEP]:
        del known[seq]


def _announced(wake: Waker) -> int | None:
    """The last seq the notification that woke us announced (None from an older keel: read to find out)."""
    try:
        return int(wake.detail) if wake.detail is not None else None
    except ValueError:
        return None
