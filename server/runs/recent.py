"""The events this process committed itself, kept briefly for its own followers.

A run's SSE follower in the process that executes the run would otherwise read back from the database
every batch the run's event log has just written there. Batches are published only after their insert
committed, so a follower never sees an event the log could still lose. Anything not here (another
process's writes, events evicted or never cached) is read from the database as before.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    event: str
    data: str  # JSON text, sent as is


class RecentEvents:
    """Per run, the last `keep` committed events, in sequence order; dropped when the run's log closes."""

    def __init__(self, keep: int = 2000) -> None:
        self._keep = keep
        self._runs: dict[uuid.UUID, deque[Event]] = {}

    def publish(self, run_id: uuid.UUID, batch: list[Event]) -> None:
        events = self._runs.get(run_id)
        if events is None:
            events = self._runs[run_id] = deque(maxlen=self._keep)
        elif events and batch and batch[0].seq != events[-1].seq + 1:
            events.clear()  # a gap (a batch committed elsewhere): keep only what is contiguous
        events.extend(batch)

    def after(self, run_id: uuid.UUID, seq: int) -> list[Event]:
        """The cached events right after `seq`, or [] when they do not continue from it."""
        events = self._runs.get(run_id)
        if not events or events[-1].seq <= seq or events[0].seq > seq + 1:
            return []
        return list(events)[seq + 1 - events[0].seq :]

    def forget(self, run_id: uuid.UUID) -> None:
        self._runs.pop(run_id, None)
