"""Injected tool faults, for chaos evals: with `KEEL_TOOL_FAULTS` set, a call of a named tool fails as a real
timeout or a real upstream 5xx would, before the tool runs (so before any write: a write with an idempotency key
stays exactly-once whatever the model does next).

Whether a call fails is drawn from a hash of the seed, the thread, the tool and the tool-call id, not from a random
generator, so the same call of the same thread fails the same way on every replay and every repeat of an eval."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tools.spec import ToolError

Fault = Literal["timeout", "error"]


@dataclass(frozen=True, kw_only=True)
class FaultRates:
    timeout: float = 0.0  # probability that a call times out
    error: float = 0.0  # probability that a call fails with an upstream 503


@dataclass(frozen=True, kw_only=True)
class ToolFaults:
    rates: Mapping[str, FaultRates] = field(default_factory=dict)  # by tool name; a tool not named never fails
    seed: int = 0

    def draw(self, tool: str, thread_id: str, call_id: str) -> Fault | None:
        """The fault this call meets, if any: the same answer for the same seed, thread, tool and call."""
        rates = self.rates.get(tool)
        if rates is None:
            return None
        digest = hashlib.sha256(f"{self.seed}\x1f{thread_id}\x1f{tool}\x1f{call_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
        if point < rates.timeout:
            return "timeout"
        if point < rates.timeout + rates.error:
            return "error"
        return None


def strike(faults: ToolFaults | None, tool: str, thread_id: str, call_id: str) -> None:
    """Raise what a real failure of this call would raise (TimeoutError, or a ToolError for a 503); else nothing."""
    fault = faults.draw(tool, thread_id, call_id) if faults is not None else None
    if fault == "timeout":
        raise TimeoutError(f"injected timeout of {tool}")
    if fault == "error":
        raise ToolError("upstream 503 Service Unavailable; the service may be back shortly")
