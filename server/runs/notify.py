"""One LISTEN connection per process, waking whoever waits for a channel (and key).

Notifications are only a hint that something changed: waiters re-read the database, and wait with a
timeout, so a lost notification (or a database restart) delays work by one poll, never forever. A payload
is a key, optionally followed by a space and a detail (the event log sends `<run id> <last seq>`): waiters
subscribe by key and see the latest detail. The notifier also holds the events this process committed
itself (`recent`), which its followers use instead of reading them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql

from server.runs.recent import RecentEvents

log = logging.getLogger(__name__)

RUNS_CHANNEL = "keel_runs"  # payload: run id (a new or re-queued run, or a cancel request)
EVENTS_CHANNEL = "keel_run_events"  # payload: "<run id> <seq of the last appended event>"
_CHANNELS = (RUNS_CHANNEL, EVENTS_CHANNEL)
_RECONNECT_S = 0.5
# A notification is remembered this long, so that a subscriber arriving just after it is still woken: a worker that
# claimed a run the moment its cancel was requested, or the stream of a run that another process started writing
# before the stream subscribed.
_REMEMBER_S = 10.0


class Waker(asyncio.Event):
    """Set by each notification for its subscription; `detail` is the latest notification's detail."""

    def __init__(self) -> None:
        super().__init__()
        self.detail: str | None = None


class Notifier:
    def __init__(self, url: str) -> None:
        self._url = url
        self.recent = RecentEvents()
        self._waiters: dict[tuple[str, str | None], set[Waker]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        # (channel, key) -> when it was last notified and its detail, oldest first
        self._remembered: OrderedDict[tuple[str, str], tuple[float, str | None]] = OrderedDict()
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="keel-notifier")
        with contextlib.suppress(TimeoutError):  # keep starting; waiters fall back to polling
            await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, key: str | None = None) -> AsyncIterator[Waker]:
        """An event set on every notification on `channel` (whose payload's key is `key`, if given)."""
        event = Waker()
        seen = self._remembered.get((channel, key)) if key is not None else None
        if seen is not None and time.monotonic() - seen[0] < _REMEMBER_S:
            event.detail = seen[1]
            event.set()
        self._waiters[(channel, key)].add(event)
        try:
            yield event
        finally:
            self._waiters[(channel, key)].discard(event)
            if not self._waiters[(channel, key)]:
                del self._waiters[(channel, key)]

    def _wake(self, channel: str, payload: str) -> None:
        key, _, detail = payload.partition(" ")
        now = time.monotonic()
        self._remembered[(channel, key)] = (now, detail or None)
        self._remembered.move_to_end((channel, key))
        while now - next(iter(self._remembered.values()))[0] >= _REMEMBER_S:
            self._remembered.popitem(last=False)
        for wanted in (None, key):
            for event in self._waiters.get((channel, wanted), ()):
                event.detail = detail or None
                event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            except psycopg.OperationalError as exc:
                log.warning("LISTEN connection failed, retrying: %s", exc)
                await asyncio.sleep(_RECONNECT_S)
                continue
            try:
                async with conn:
                    for channel in _CHANNELS:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self.connected.set()
                    self._wake_all()  # anything sent while we were away is re-read from the tables
                    async for notify in conn.notifies():
                        self._wake(notify.channel, notify.payload)
            except psycopg.OperationalError as exc:
                log.warning("LISTEN connection lost, reconnecting: %s", exc)
            self.connected.clear()
            self._wake_all()
            await asyncio.sleep(_RECONNECT_S)


async def wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds, then clear it for the next round. False: timed out."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):  # no task per wait, unlike asyncio.wait_for
            await event.wait()
    woken = event.is_set()
    event.clear()
    return woken
