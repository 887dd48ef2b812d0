"""Large events stored as a difference from the previous event of the same name, so a run's event log does not
copy its state at every step (a `values` event is the whole state: a 1 MB message made ~9 MB of event rows).

An event of `MIN_CHARS` or more is stored as `(base, head, tail, middle)`: its text is the first `head`
characters of event `base` (the run's previous event of the same name), then `middle`, then the last `tail`
characters of `base`. Appending to a list (messages) changes only the middle, so the middle is what the step
added. Chains stay within one event log (one attempt of one run) and are cut after `MAX_CHAIN` links; a reader
rebuilds the exact text from the rows alone, so the log never depends on checkpoints (which a thread's
pruning or TTL may delete) and lives exactly as long as its run's other events.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_CHARS = 2048  # below this an event is stored whole: a difference would save little and cost a lookup
MAX_CHAIN = 32  # a reader rebuilds at most this many links from the nearest whole event
_BLOCK = 4096  # the first block the common prefix is compared in; blocks double after each match


@dataclass(frozen=True, slots=True)
class Stored:
    """How one event is stored when not whole: `middle` between parts of event `base`."""

    base: int
    head: int
    tail: int
    middle: str


class Differ:
    """Per event name, the last large event of one event log: what the next one of that name is stored against."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, str, int]] = {}  # name -> (seq, text, links from a whole event)

    def store(self, seq: int, name: str, text: str) -> Stored | None:
        """How event `seq` is stored; None: whole."""
        if len(text) < MIN_CHARS:
            self._last.pop(name, None)
            return None
        last = self._last.get(name)
        if last is not None and last[2] < MAX_CHAIN:
            base_seq, base, links = last
            head = common_prefix(base, text)
            tail = common_prefix(base[head:][::-1], text[head:][::-1])
            if 2 * (head + tail) >= len(text):  # worth it: at least half of the text is referenced
                self._last[name] = (seq, text, links + 1)
                return Stored(base_seq, head, tail, text[head : len(text) - tail])
        self._last[name] = (seq, text, 0)
        return None


def rebuild(base: str, head: int, tail: int, middle: str) -> str:
    return base[:head] + middle + base[len(base) - tail :]


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix, compared in C a block at a time (commonprefix goes per character)."""
    n = min(len(a), len(b))
    start, block = 0, _BLOCK
    while start < n:
        end = min(start + block, n)
        if a[start:end] != b[start:end]:
            # a[:start] is common and the first difference is before `end`.
            while end - start > 1:
                mid = (start + end) // 2
                if a[start:mid] == b[start:mid]:
                    start = mid
                else:
                    end = mid
            return start
        start, block = end, block * 2
    return n
