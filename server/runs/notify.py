"""One LISTEN connection per process, waking whoever waits for a channel (and key).

Notifications are only a hint that something changed: waiters always re-read the database, and wait
with a timeout, so a lost notification (or a database restart) delays work by one poll, never forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

RUNS_CHANNEL = "keel_runs"  # payload: run id (a new or re-queued run, or a cancel request)
EVENTS_CHANNEL = "keel_run_events"  # payload: run id (new events were appended)
_CHANNELS = (RUNS_CHANNEL, EVENTS_CHANNEL)
_RECONNECT_S = 0.5
# A notification on the runs channel is remembered this long, so that a subscriber arriving just after it (a worker
# that claimed a run the moment its cancel was requested) is still woken.
_REMEMBER_S = 10.0


class Notifier:
    def __init__(self, url: str) -> None:
        self._url = url
        self._waiters: dict[tuple[str, str | None], set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._recent: dict[tuple[str, str], float] = {}  # (channel, payload) -> when it was last notified
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
    async def subscribe(self, channel: str, key: str | None = None) -> AsyncIterator[asyncio.Event]:
        """An event set on every notification on `channel` (whose payload is `key`, if given)."""
        event = asyncio.Event()
        if key is not None and time.monotonic() - self._recent.get((channel, key), -_REMEMBER_S) < _REMEMBER_S:
            event.set()
        self._waiters[(channel, key)].add(event)
        try:
            yield event
        finally:
            self._waiters[(channel, key)].discard(event)
            if not self._waiters[(channel, key)]:
                del self._waiters[(channel, key)]

    def _wake(self, channel: str, payload: str) -> None:
        if channel == RUNS_CHANNEL:
            now = time.monotonic()
            self._recent[(channel, payload)] = now
            if len(self._recent) > 4096:
                self._recent = {key: at for key, at in self._recent.items() if now - at < _REMEMBER_S}
        for key in (None, payload):
            for event in self._waiters.get((channel, key), ()):
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


async def wait(event: asyncio.Event, timeout: float) -> None:
    """Wait for `event` at most `timeout` seconds, then clear it for the next round."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    event.clear()
