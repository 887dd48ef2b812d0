"""Langfuse (v5, OpenTelemetry) set-up: on when LANGFUSE_PUBLIC_KEY, _SECRET_KEY and _BASE_URL are set.

One trace per run. Its id is derived from the run id, so every attempt of a run (a retry after a worker
crash) lands in the same trace. Spans leave through the SDK's background exporter: a slow or failing
Langfuse delays nothing in the run, and export errors are logged by OpenTelemetry's exporter."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langfuse import Langfuse
from langfuse.langchain import CallbackHandler
from opentelemetry.sdk.trace import TracerProvider

from server.observability.guardrails import occurrence
from server.observability.pii import mask_span_data
from server.settings import LangfuseSettings

log = logging.getLogger(__name__)
_FLUSH_BOUND_S = 5.0


class Tracing:
    """The process's Langfuse client, or nothing when Langfuse is not configured."""

    def __init__(self, settings: LangfuseSettings, *, content: bool = False) -> None:
        """`content`: KEEL_LOG_CONTENT; without it, e-mail addresses and card numbers are masked in every span."""
        self.enabled = settings.enabled
        self._public_key = settings.public_key
        self._ui_url = (settings.ui_url or settings.base_url or "").rstrip("/")
        self._client: Any = None
        if self.enabled:
            assert settings.secret_key is not None
            self._client = Langfuse(
                public_key=settings.public_key,
                secret_key=settings.secret_key.get_secret_value(),
                base_url=settings.base_url,
                # OpenTelemetry's default provider flushes again at interpreter exit, without a bound: with
                # Langfuse down that holds the process open. `shutdown` below does the bounded flush instead.
                tracer_provider=TracerProvider(shutdown_on_exit=False),
                mask=None if content else mask_span_data,
            )
            log.info("Langfuse tracing on: spans go to %s", settings.base_url)

    @staticmethod
    def trace_id(run_id: uuid.UUID | str) -> str:
        return Langfuse.create_trace_id(seed=f"keel-run:{run_id}")

    def trace_url(self, trace_id: str) -> str:
        # Langfuse redirects /trace/<id> to the trace's project, so no API call is needed to build the link.
        return f"{self._ui_url}/trace/{trace_id}"

    def handler(self, trace_id: str, events: Sequence[TraceEvent] = ()) -> BaseCallbackHandler:
        """The LangChain callback that makes the run's spans; `events` are recorded under its root span."""
        return _KeelHandler(events, public_key=self._public_key, trace_context={"trace_id": trace_id})

    def shutdown(self, bound_s: float = _FLUSH_BOUND_S) -> None:
        """Flush what is buffered and stop the exporter, for at most `bound_s`.

        With Langfuse down, each batch is retried for up to LANGFUSE_TIMEOUT; a daemon thread keeps that
        from holding the process open: what is not sent in time is dropped, and that is logged."""
        if self._client is None:
            return
        flusher = threading.Thread(target=self._client.shutdown, name="keel-langfuse-flush", daemon=True)
        flusher.start()
        flusher.join(bound_s)
        if flusher.is_alive():
            log.warning("Langfuse spans not flushed within %.0fs (is Langfuse reachable?); dropping the rest", bound_s)
        else:
            log.info("Langfuse spans flushed")


class TraceEvent:
    """A Langfuse event (a point in time, no duration) with a name, an input and metadata."""

    def __init__(self, name: str, input: Any, metadata: dict[str, Any]) -> None:  # Langfuse's name
        self.name = name
        self.input = input
        self.metadata = metadata


class _KeelHandler(CallbackHandler):
    """Langfuse's handler, plus events recorded once, as children of the run's root span: that span is the current
    OpenTelemetry span right after the handler opened it (an event made elsewhere would be a root of its own,
    which Langfuse reads as the trace's name and input). A guardrail's custom event becomes a warning event under
    the span of the node that dispatched it."""

    def __init__(self, events: Sequence[TraceEvent], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events = list(events)

    def on_chain_start(self, *args: Any, **kwargs: Any) -> Any:
        result = super().on_chain_start(*args, **kwargs)
        if kwargs.get("parent_run_id") is None and self._events:
            events, self._events = self._events, []
            for event in events:
                try:
                    self._langfuse_client.create_event(name=event.name, input=event.input, metadata=event.metadata)
                except Exception:
                    log.exception("Langfuse event %s not recorded", event.name)
        return result

    def on_custom_event(self, name: str, data: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:  # noqa: ARG002
        found = occurrence(name, data)
        span = self._runs.get(run_id)
        if found is None or span is None:
            return
        guardrail, action, detail = found
        try:
            span.create_event(
                name=f"guardrail {guardrail}: {action}",
                input=detail,
                metadata={"guardrail": guardrail, "action": action},
                level="WARNING",
            )
        except Exception:
            log.exception("Langfuse event for guardrail %s not recorded", guardrail)


_current = Tracing(LangfuseSettings.model_construct(public_key=None, secret_key=None, base_url=None, ui_url=None))


def current() -> Tracing:
    """The tracing of this process: off until `install` (tests that call the run path directly get off)."""
    return _current


def install(tracing: Tracing) -> None:
    global _current
    _current = tracing
