"""Guardrail occurrences (the `keel_guardrail` custom events graph code dispatches through `nodes.guardrails.report`)
as Prometheus counts and log lines. The Langfuse event on the trace is the tracing handler's (tracing.py)."""

# ruff: noqa: ARG002 -- callback signatures are LangChain's

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from nodes.guardrails import EVENT
from server.observability import metrics

log = logging.getLogger("keel.guardrails")


def occurrence(name: str, data: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(guardrail, action, detail) of a guardrail event, None for any other custom event."""
    if name != EVENT or not isinstance(data, dict):
        return None
    detail = data.get("detail")
    return str(data.get("guardrail")), str(data.get("action")), detail if isinstance(detail, dict) else {}


class GuardrailEvents(BaseCallbackHandler):
    run_inline = True
    # Only custom events: every other callback (one per streamed token) would be a wasted call.
    ignore_llm = ignore_chat_model = ignore_chain = ignore_agent = ignore_retriever = ignore_retry = True

    def on_custom_event(
        self, name: str, data: Any, *, run_id: uuid.UUID, tags: list[str] | None = None, **kwargs: Any
    ) -> None:
        found = occurrence(name, data)
        if found is None:
            return
        guardrail, action, detail = found
        metrics.GUARDRAIL_EVENTS.labels(guardrail=guardrail, action=action).inc()
        # The detail names ids and counts, never message content (the logger masks what it must anyway).
        log.warning("guardrail %s %s: %s", guardrail, action, json.dumps(detail, default=str, sort_keys=True))
