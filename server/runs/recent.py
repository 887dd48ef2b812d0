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
        self._first: dict[uuid.UUID, int] = {}  # the first seq this process writes of each run it writes
        # Per run being written here: set, and replaced by a new one, by every publish (and by the end of writing
        # here): whoever waits on the current one wakes at the next publish, and nobody has to clear it.
        self._changed: dict[uuid.UUID, asyncio.Event] = {}

    def open(self, run_id: uuid.UUID, first_seq: int = 1) -> None:
        """This process writes the run from `first_seq` on; everything it commits is published here."""
        events = self._runs.setdefault(run_id, deque(maxlen=self._keep))
        if events and events[-1].seq + 1 != first_seq:
            events.clear()  # what is kept does not continue into what this writer writes
        self._first[run_id] = first_seq
        self._changed.setdefault(run_id, asyncio.Event())

    def covers(self, run_id: uuid.UUID, after: int) -> bool:
        """True while this process writes the run and every event after `after` is or will be published here:
        a follower from `after` needs nothing from the database."""
        first = self._first.get(run_id)
        if first is None or run_id not in self._changed:
            return False
        events = self._runs.get(run_id)
        if events:
            return events[0].seq <= after + 1 <= events[-1].seq + 1
        return first == after + 1

    def publish(self, run_id: uuid.UUID, batch: list[Event]) -> None:
        events = self._runs.get(run_id)
        if events is None:
            events = self._runs[run_id] = deque(maxlen=self._keep)
        elif events and batch and batch[0].seq != events[-1].seq + 1:
            events.clear()  # a gap (a batch committed elsewhere): keep only what is contiguous
        events.extend(batch)
        self._signal(run_id)

    def _signal(self, run_id: uuid.UUID) -> None:
        if (changed := self._changed.get(run_id)) is not None:
            changed.set()
            self._changed[run_id] = asyncio.Event()

    async def next_publish(self, run_id: uuid.UUID, timeout: float) -> None:
        """Wait (at most `timeout`) for the run's next publish here, or for the end of its writing here."""
        changed = self._changed.get(run_id)
        if changed is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await changed.wait()

    async def published_up_to(self, run_id: uuid.UUID, seq: int, timeout: float) -> bool:
        """Wait (at most `timeout`) until this process has published the run's events up to `seq`. A notification
        can overtake the publish that follows its commit; waiting for it is cheaper than a read."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    events = self._runs.get(run_id)
                    if events and events[-1].seq >= seq:
                        return True
                    changed = self._changed.get(run_id)
                    if changed is None:
                        return False  # not written here, or done writing here: nothing more will be published
                    await changed.wait()
        return False

    def after(self, run_id: uuid.UUID, seq: int) -> list[Event]:
        """The cached events right after `seq`, or [] when they do not continue from it."""
        events = self._runs.get(run_id)
        if not events or events[-1].seq <= seq or events[0].seq > seq + 1:
            return []
        return list(events)[seq + 1 - events[0].seq :]

    def done_writing(self, run_id: uuid.UUID) -> None:
        """Nothing more of this run will be published here (it ended, or another process continues it)."""
        if (changed := self._changed.pop(run_id, None)) is not None:
            changed.set()  # whoever waits for a publish stops waiting

    def forget(self, run_id: uuid.UUID) -> None:
        self.done_writing(run_id)
        self._runs.pop(run_id, None)
        self._first.pop(run_id, None)
