"""A run's event log as an SSE response: replay from Last-Event-ID, then follow live until `end`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Collection

import psycopg
from sse_starlette import EventSourceResponse, ServerSentEvent

from server.db.pool import Pool
from server.observability.metrics import SSE_CLIENTS
from server.runs import store
from server.runs.events import follow_batches
from server.runs.notify import Notifier
from server.runs.recent import Event

log = logging.getLogger(__name__)
HEARTBEAT_S = 10  # comment pings keep proxies from closing a quiet stream
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
        SSE_CLIENTS.inc()
        try:
            try:
                async for batch in follow_batches(pool, notifier, run_id, after=after, poll_s=poll_s, created=created):
                    shown = batch if wanted is None else [event for event in batch if wanted(event)]
                    if shown:  # one write per batch: a streamed answer is hundreds of token events
                        yield b"".join(map(sse_frame, shown))
            except psycopg.OperationalError as exc:
                # The database went away: end the stream without `end`, as a restart would, and the client
                # reconnects with Last-Event-ID (answered 503 until the database is back). Its run goes on.
                log.warning("stream of run %s ended: database unavailable (%s)", run_id, exc)
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
