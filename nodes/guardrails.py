"""How a guardrail tells the server it acted: one LangChain custom event per occurrence, which keel's server turns into
a Prometheus counter (`keel_guardrail_events_total{guardrail, action}`), a Langfuse event on the run's trace (under
the node that acted) and a log line. Graph code stays plain LangChain: run outside keel, the event goes to whatever
callbacks the caller attached (none: nowhere).

Report an occurrence where it happens once: a node re-run on resume repeats everything before its `interrupt()`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.callbacks.manager import adispatch_custom_event

EVENT = "keel_guardrail"

# Every guardrail keel has, one line each (the `guardrail` label of the metric).
Guardrail = Literal[
    "budget",  # a run or thread reached a spend limit (model calls, tokens, dollars, tool calls, wall time)
    "no_progress",  # a loop repeated itself without new results and was stopped
    "untrusted_content",  # a tool result carrying outside text was read (and flagged on later approvals)
    "injection",  # outside text looked like instructions to the agent
    "tool_policy",  # a tool call broke a policy on its arguments and was refused before any approval
    "output_leak",  # an answer named another customer's ids or e-mail addresses and was redacted
]


async def report(guardrail: Guardrail, action: str, detail: Mapping[str, Any] | None = None) -> None:
    """Record that `guardrail` did `action` (e.g. "paused", "stopped", "flagged", "refused", "redacted")."""
    try:
        await adispatch_custom_event(EVENT, {"guardrail": guardrail, "action": action, "detail": dict(detail or {})})
    except RuntimeError:  # called outside any runnable (a unit test calling a node function): nothing to tell
        return
