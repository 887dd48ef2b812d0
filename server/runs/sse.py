"""A run's event log as an SSE response: replay from Last-Event-ID, then follow live until `end`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection
from typing import TypeVar

import psycopg
from sse_starlette import EventSourceResponse, ServerSentEvent

from server.db.pool import Pool
from server.errors import database_unavailable
from server.observability.metrics import SSE_CLIENTS
from server.runs import store
from server.runs.events import follow_batches
from server.runs.notify import Notifier
from server.runs.recent import Event

log = logging.getLogger(__name__)
HEARTBEAT_S = 10  # comment pings keep proxies from closing a quiet stream
OUTAGE_WAIT_S = 15.0  # how long an open stream waits for the database to answer again (a restart takes seconds)
_OUTAGE_RETRY_S = 0.5
T = TypeVar("T")
_ALWAYS = ("metadata", "error", "end")  # a run's own events, sent whatever the modes


def sse_frame(event: Event) -> bytes:
    """`ServerSentEvent(data, event, id).encode()`, byte for byte, at a fraction of its cost (a streamed answer
    is ~1000 events): event data is compact JSON, which has no line breaks, so a frame is one format call.
    Anything with a line break (an odd node name in a namespace) takes sse-starlette's encoder."""
    text = event.event + event.data
    if "\n" in text or "\r" in text:
        return ServerSentEvent(data=event.data, event=event.event, id=str(event.seq)).encode()
    return f"id: {event.seq}\r\nevent: {event.event}\r\ndata: {event.data}\r\n\r\n".encode()


def last_event_id(header: str | None) -> int:
    """The sequence number a reconnecting client already has (0: from the start)."""
    if header is None or not header.strip():
        return 0
    try:
        return max(int(header.strip()), 0)
    except ValueError:
        return 0


def mode_filter(stream_mode: Collection[str]) -> Callable[[Event], bool] | None:
    """Which logged events a follower asking for `stream_mode` gets (None: all of them): those of its modes
    (`updates`, `updates|<ns>`, `messages/partial`...) and the run's own `metadata`, `error` and `end`."""
    if not stream_mode:
        return None
    modes = {"messages" if mode == "messages-tuple" else mode for mode in stream_mode} | set(_ALWAYS)

    def wanted(event: Event) -> bool:
        base = event.event.split("|", 1)[0]
        return base in modes or base.split("/", 1)[0] in modes

    return wanted


async def outlasting_outages(
    follow: Callable[[], AsyncIterator[T]], what: str, *, then_raise: bool = False
) -> AsyncGenerator[T, None]:
    """What `follow()` yields; when the database stops answering, `follow()` again (it resumes after what was
    sent) until it answers, for up to OUTAGE_WAIT_S: a restart of the database is ridden out on the open response,
    whose pings or newlines keep it open meanwhile. A client that saw a stream end without `end` might not come
    back for the rest (langgraph-sdk reconnects only while the run is still pending or running). Down for longer,
    a stream ends without `end`, as a restart of keel would, and the client reconnects (503 until the database is
    back); `then_raise`: the error is raised instead (a wait's body is cut, so its client waits again)."""
    outage: float | None = None  # when the database stopped answering
    while True:
        try:
            async for item in follow():
                outage = None
                yield item
            return
        except psycopg.OperationalError as exc:
            now = time.monotonic()
            if not database_unavailable(exc) or (outage is not None and now - outage >= OUTAGE_WAIT_S):
                log.warning("%s ended: database unavailable (%s)", what, exc)
                if then_raise:
                    raise
                return
            if outage is None:
                outage = now
                log.warning("%s waits for the database (up to %.0f s): %s", what, OUTAGE_WAIT_S, exc)
            await asyncio.sleep(_OUTAGE_RETRY_S)


def run_stream(
    pool: Pool,
    notifier: Notifier,
    *,
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    after: int,
    cancel_on_disconnect: bool,
    poll_s: float,
    stream_mode: Collection[str] = (),
    created: bool = False,
) -> EventSourceResponse:
    wanted = mode_filter(stream_mode)

    async def events() -> AsyncIterator[bytes]:
        finished = False
        sent = after

        def follow() -> AsyncIterator[list[Event]]:  # from the last event sent: a just-created run only at first
            return follow_batches(pool, notifier, run_id, after=sent, poll_s=poll_s, created=created and sent == after)

        SSE_CLIENTS.inc()
        try:
            async for batch in outlasting_outages(follow, f"stream of run {run_id}"):
                shown = batch if wanted is None else [event for event in batch if wanted(event)]
                sent = batch[-1].seq
                if shown:  # one write per batch: a streamed answer is hundreds of token events
                    yield b"".join(map(sse_frame, shown))
            finished = True
        finally:
            SSE_CLIENTS.dec()
            if not finished and cancel_on_disconnect:
                await asyncio.shield(cancel_abandoned(pool, run_id))

    headers = {
        "Location": f"/threads/{thread_id}/runs/{run_id}/stream",
        "Content-Location": f"/threads/{thread_id}/runs/{run_id}",
    }
    return EventSourceResponse(events(), ping=HEARTBEAT_S, headers=headers)


async def cancel_abandoned(pool: Pool, run_id: uuid.UUID) -> None:
    """Cancel a run whose client left (it asked for that with `on_disconnect=cancel`/`cancel_on_disconnect`)."""
    async with pool.connection() as conn, conn.transaction():
        if await store.request_cancel(conn, run_id, "interrupt"):
            log.info("run %s cancelled: its client disconnected", run_id)
