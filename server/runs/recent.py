"""The events this process committed itself, kept briefly for its own followers.

A run's SSE follower in the process that executes the run would otherwise read back from the database
every batch the run's event log has just written there. Batches are published only after their insert
committed, so a follower never sees an event the log could still lose. Anything not here (another
process's writes, events evicted or never cached) is read from the database as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from dataclasses import dataclass

from server.runs.deltas import Stored


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    event: str
    data: str  # JSON text, sent as is
    stored: Stored | None = None  # how the log stores it, when not whole (only the writer knows)


class RecentEvents:
    """Per run written in this process, the last `keep` committed events, in sequence order; from `open()`
    (the run's event log starts here) until `forget()` (a few seconds after it is done here)."""

    def __init__(self, keep: int = 2000) -> None:
        self._keep = keep
        self._runs: dict[uuid.UUID, deque[Event]] = {}
        self._published: dict[uuid.UUID, asyncio.Event] = {}  # set by every publish of the run

    def open(self, run_id: uuid.UUID) -> None:
        self._runs.setdefault(run_id, deque(maxlen=self._keep))
        self._published.setdefault(run_id, asyncio.Event())

    def writing(self, run_id: uuid.UUID) -> bool:
        """True while this process writes the run's events (its notifications are followed by a publish)."""
        return run_id in self._published

    def publish(self, run_id: uuid.UUID, batch: list[Event]) -> None:
        events = self._runs.get(run_id)
        if events is None:
            events = self._runs[run_id] = deque(maxlen=self._keep)
        elif events and batch and batch[0].seq != events[-1].seq + 1:
            events.clear()  # a gap (a batch committed elsewhere): keep only what is contiguous
        events.extend(batch)
        if (published := self._published.get(run_id)) is not None:
            published.set()

    async def published_up_to(self, run_id: uuid.UUID, seq: int, timeout: float) -> bool:
        """Wait (at most `timeout`) until this process has published the run's events up to `seq`. A notification
        can overtake the publish that follows its commit; waiting for it is cheaper than a read."""
        published = self._published.get(run_id)
        if published is None:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    events = self._runs.get(run_id)
                    if events and events[-1].seq >= seq:
                        return True
                    if run_id not in self._published:
                        return False  # done writing here: nothing more will be published
                    published.clear()
                    await published.wait()
        return False

    def after(self, run_id: uuid.UUID, seq: int) -> list[Event]:
        """The cached events right after `seq`, or [] when they do not continue from it."""
        events = self._runs.get(run_id)
        if not events or events[-1].seq <= seq or events[0].seq > seq + 1:
            return []
        return list(events)[seq + 1 - events[0].seq :]

    def done_writing(self, run_id: uuid.UUID) -> None:
        """Nothing more of this run will be published here (it ended, or another process continues it)."""
        if (published := self._published.pop(run_id, None)) is not None:
            published.set()  # whoever waits for a publish stops waiting

    def forget(self, run_id: uuid.UUID) -> None:
        self.done_writing(run_id)
        self._runs.pop(run_id, None)
