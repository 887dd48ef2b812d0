"""A thread's stream (`GET /threads/{id}/stream`): the events of each of its runs in turn, live, open until the
client leaves (as LangGraph Server's). It starts with the thread's active runs and those created after it
connects; `Last-Event-ID: -` replays every run of the thread first, and an event id (`<run id>:<seq>`)
resumes after that event. Modes: `run_modes` (every event of every run, the default), `lifecycle` (each run's
`metadata`, `error` and `end` only), `state_update` (accepted; keel publishes no state-update events).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Literal, get_args

from sse_starlette import EventSourceResponse, ServerSentEvent

from server.db.pool import Pool
from server.errors import NotFound
from server.observability.metrics import SSE_CLIENTS
from server.runs import store
from server.runs.events import follow_batches
from server.runs.notify import RUNS_CHANNEL, Notifier, wait
from server.runs.recent import Event
from server.runs.sse import HEARTBEAT_S, outlasting_outages

ThreadStreamMode = Literal["lifecycle", "run_modes", "state_update"]
THREAD_STREAM_MODES: tuple[str, ...] = get_args(ThreadStreamMode)
_LIFECYCLE = ("metadata", "error", "end")
FROM_THE_START = "-"


def resume_point(last_event_id: str | None) -> tuple[uuid.UUID, int] | None:
    """(run id, seq) from an event id this stream sent; None for anything else."""
    run_id, _, seq = (last_event_id or "").partition(":")
    try:
        return uuid.UUID(run_id), int(seq)
    except ValueError:
        return None


def thread_stream(
    pool: Pool,
    notifier: Notifier,
    *,
    thread_id: uuid.UUID,
    modes: Collection[ThreadStreamMode],
    last_event_id: str | None,
    poll_s: float,
) -> EventSourceResponse:
    everything = "run_modes" in modes
    lifecycle = "lifecycle" in modes

    def shown(event: Event) -> bool:
        return everything or (lifecycle and event.event in _LIFECYCLE)

    async def events() -> AsyncIterator[bytes]:
        at = _Position(resume=resume_point(last_event_id), from_the_start=last_event_id == FROM_THE_START)

        def follow() -> AsyncIterator[tuple[uuid.UUID, list[Event]]]:
            return _follow_thread(pool, notifier, thread_id, at, poll_s)

        SSE_CLIENTS.inc()
        try:
            async for run_id, batch in outlasting_outages(follow, f"stream of thread {thread_id}"):
                frames = [_frame(run_id, event) for event in batch if shown(event)]
                if frames:
                    yield b"".join(frames)
        finally:
            SSE_CLIENTS.dec()

    return EventSourceResponse(events(), ping=HEARTBEAT_S)


@dataclass
class _Position:
    """Where a thread's stream is, so that following again after a database outage goes on from there."""

    resume: tuple[uuid.UUID, int] | None  # the run being followed and its last event sent
    from_the_start: bool
    placed: bool = False  # the client's Last-Event-ID is resolved into what follows
    after: tuple[dt.datetime, uuid.UUID] | None = None  # the last run taken (created_at, run_id)
    since: dt.datetime | None = None  # runs created before the stream connected are not followed


async def _follow_thread(
    pool: Pool, notifier: Notifier, thread_id: uuid.UUID, at: _Position, poll_s: float
) -> AsyncIterator[tuple[uuid.UUID, list[Event]]]:
    """Each run's event batches, run after run, forever, from `at` (which it moves along)."""
    if not at.placed:
        async with pool.connection() as conn:
            if at.resume is not None:
                try:
                    run = await store.get_run(conn, at.resume[0], thread_id)
                except NotFound:  # deleted, or not this thread's: start from the thread's runs as they come
                    run = None
                if run is not None:
                    at.after = (run["created_at"], run["run_id"])
                else:
                    at.resume = None
            elif not at.from_the_start:
                row = await (await conn.execute("SELECT now() AS now")).fetchone()
                at.since = row["now"] if row else None
        at.placed = True
    async with notifier.subscribe(RUNS_CHANNEL) as wake:
        while True:
            if at.resume is not None:
                run_id = at.resume[0]
                async for batch in follow_batches(pool, notifier, run_id, after=at.resume[1], poll_s=poll_s):
                    at.resume = (run_id, batch[-1].seq)
                    yield run_id, batch
                at.resume = None
            wake.clear()
            async with pool.connection() as conn:
                run = await store.next_run_of_thread(conn, thread_id, after=at.after, active_or_since=at.since)
            if run is None:
                await wait(wake, poll_s)  # a run started at once in its process notifies nobody: poll too
                continue
            at.after = (run["created_at"], run["run_id"])
            at.resume = (run["run_id"], 0)


def _frame(run_id: uuid.UUID, event: Event) -> bytes:
    return ServerSentEvent(data=event.data, event=event.event, id=f"{run_id}:{event.seq}").encode()
