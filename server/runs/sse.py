"""A run's event log as an SSE response: replay from Last-Event-ID, then follow live until `end`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

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


def run_stream(
    pool: Pool,
    notifier: Notifier,
    *,
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    after: int,
    cancel_on_disconnect: bool,
    poll_s: float,
) -> EventSourceResponse:
    async def events() -> AsyncIterator[bytes]:
        finished = False
        SSE_CLIENTS.inc()
        try:
            try:
                async for batch in follow_batches(pool, notifier, run_id, after=after, poll_s=poll_s):
                    # One write per batch: a streamed answer is hundreds of token events.
                    yield b"".join(map(sse_frame, batch))
            except psycopg.OperationalError as exc:
                # The database went away: end the stream without `end`, as a restart would, and the client
                # reconnects with Last-Event-ID (answered 503 until the database is back). Its run goes on.
                log.warning("stream of run %s ended: database unavailable (%s)", run_id, exc)
            finished = True
        finally:
            SSE_CLIENTS.dec()
            if not finished and cancel_on_disconnect:
                await asyncio.shield(_cancel(pool, run_id))

    headers = {
        "Location": f"/threads/{thread_id}/runs/{run_id}/stream",
        "Content-Location": f"/threads/{thread_id}/runs/{run_id}",
    }
    return EventSourceResponse(events(), ping=HEARTBEAT_S, headers=headers)


async def _cancel(pool: Pool, run_id: uuid.UUID) -> None:
    async with pool.connection() as conn, conn.transaction():
        if await store.request_cancel(conn, run_id, "interrupt"):
            log.info("run %s cancelled: its streaming client disconnected (on_disconnect=cancel)", run_id)
