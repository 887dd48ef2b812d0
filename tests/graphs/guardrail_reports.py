"""The guardrail events (nodes/guardrails.py) a graph run dispatched, collected by a callback handler."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler

from nodes.guardrails import EVENT


class Reports(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:  # noqa: ARG002
        if name == EVENT:
            self.events.append(data)

    def of(self, guardrail: str) -> list[tuple[str, dict[str, Any]]]:
        """(action, detail) of each report of `guardrail`, in order."""
        return [(e["action"], e["detail"]) for e in self.events if e["guardrail"] == guardrail]
