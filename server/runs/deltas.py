"""Large events stored as a difference from an earlier event of the same run, so a run's event log does not
copy its state at every step (a `values` event is the whole state: a 1 MB message made ~9 MB of event rows).

An event of `MIN_CHARS` or more may be stored as copies from event `base` with literal text between them: its
row holds the literals (`data`, concatenated) and `copies`, "l o n ..." triples meaning "`l` characters of
literal, then `n` characters of the base from offset `o`"; the literal left over ends the text. The base is
the run's previous large event of the same name, or else its latest large event of any name (a sub-graph's
first `values`, or the `updates` event of a node that hands back a whole sub-graph state, repeat it). Matches
are found around a probe from the middle of the text, recursively, which is what appending to a list (the
messages) or wrapping a state in an update needs. Each difference is checked by rebuilding it before it is
stored. Chains stay within one event log (one attempt of one run) and are cut after `MAX_CHAIN` links; a
reader rebuilds the exact text from the rows alone, so the log never depends on checkpoints (which a thread's
pruning or TTL may delete) and lives exactly as long as its run's other events.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_CHARS = 2048  # below this an event is stored whole: a difference would save little and cost a lookup
MAX_CHAIN = 32  # a reader rebuilds at most this many links from the nearest whole event
KEEP = 8  # large events kept per event log as bases (a sub-graph's events are named per task: many names)
_PROBE = 64  # characters looked up in the base to find a match
_DEPTH = 4  # levels of matching around a probe: at most 2**_DEPTH - 1 copies
_BLOCK = 4096  # the first block the common prefix is compared in; blocks double after each match


@dataclass(frozen=True, slots=True)
class Stored:
    """How one event is stored when not whole: literals between copies from event `base`."""

    base: int
    copies: str
    literals: str


class Differ:
    """The large events of one event log that the next ones are stored against."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, str, int]] = {}  # name -> (seq, text, links from a whole event)
        self._latest: str | None = None  # the name of the latest large event

    def store(self, seq: int, name: str, text: str) -> Stored | None:
        """How event `seq` is stored; None: whole."""
        if len(text) < MIN_CHARS:
            self._last.pop(name, None)
            if self._latest == name:
                self._latest = None
            return None
        stored, links = None, 0
        for candidate in dict.fromkeys((name, self._latest)):  # the same name first, then the latest
            last = self._last.get(candidate) if candidate is not None else None
            if last is not None and last[2] < MAX_CHAIN and (stored := difference(last[0], last[1], text)):
                links = last[2] + 1
                break
        self._last.pop(name, None)  # re-inserted last: the dict's order is from least to most recently used
        self._last[name] = (seq, text, links)
        if len(self._last) > KEEP:
            del self._last[next(iter(self._last))]
        self._latest = name
        return stored


def difference(base_seq: int, base: str, text: str) -> Stored | None:
    """`text` as copies from `base`, when at least half of it is copied (None: store it whole)."""
    found: list[tuple[int, int, int]] = []  # (where in text, offset in base, length), in text order
    _match(base, text, 0, len(text), _DEPTH, found)
    literals, copies, at = [], [], 0
    for start, offset, length in found:
        literals.append(text[at:start])
        copies.append(f"{start - at} {offset} {length}")
        at = start + length
    literals.append(text[at:])
    stored = Stored(base_seq, " ".join(copies), "".join(literals))
    if 2 * len(stored.literals) > len(text) or rebuild(base, stored.copies, stored.literals) != text:
        return None
    return stored


def _match(base: str, text: str, lo: int, hi: int, depth: int, found: list[tuple[int, int, int]]) -> None:
    """Appends to `found` the copies from `base` that cover parts of text[lo:hi], in order."""
    if hi - lo < 2 * _PROBE or depth == 0:
        return
    mid = (lo + hi - _PROBE) // 2
    at = base.find(text[mid : mid + _PROBE])
    if at < 0:
        return
    right = common_prefix(base[at:], text[mid:hi])
    left = common_prefix(base[:at][::-1], text[lo:mid][::-1])
    _match(base, text, lo, mid - left, depth - 1, found)
    found.append((mid - left, at - left, left + right))
    _match(base, text, mid + right, hi, depth - 1, found)


def rebuild(base: str, copies: str, literals: str) -> str:
    parts: list[str] = []
    at = 0
    numbers = [int(number) for number in copies.split()]
    for i in range(0, len(numbers), 3):
        literal, offset, length = numbers[i : i + 3]
        parts += (literals[at : at + literal], base[offset : offset + length])
        at += literal
    parts.append(literals[at:])
    return "".join(parts)


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
