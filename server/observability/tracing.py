"""Langfuse (v5, OpenTelemetry) set-up: on when LANGFUSE_PUBLIC_KEY, _SECRET_KEY and _BASE_URL are set.

One trace per run. Its id is derived from the run id, so every attempt of a run (a retry after a worker
crash) lands in the same trace. Spans leave through the SDK's background exporter: a slow or failing
Langfuse delays nothing in the run, and export errors are logged by OpenTelemetry's exporter."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langfuse import Langfuse
from langfuse.langchain import CallbackHandler
from opentelemetry.sdk.trace import TracerProvider

from server.settings import LangfuseSettings

log = logging.getLogger(__name__)
_FLUSH_BOUND_S = 5.0


class Tracing:
    """The process's Langfuse client, or nothing when Langfuse is not configured."""

    def __init__(self, settings: LangfuseSettings) -> None:
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
            )
            log.info("Langfuse tracing on: spans go to %s", settings.base_url)

    @staticmethod
    def trace_id(run_id: uuid.UUID | str) -> str:
        return Langfuse.create_trace_id(seed=f"keel-run:{run_id}")

    def trace_url(self, trace_id: str) -> str:
        # Langfuse redirects /trace/<id> to the trace's project, so no API call is needed to build the link.
        return f"{self._ui_url}/trace/{trace_id}"

    def handler(self, trace_id: str) -> BaseCallbackHandler:
        return CallbackHandler(public_key=self._public_key, trace_context={"trace_id": trace_id})

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


_current = Tracing(LangfuseSettings.model_construct(public_key=None, secret_key=None, base_url=None, ui_url=None))


def current() -> Tracing:
    """The tracing of this process: off until `install` (tests that call the run path directly get off)."""
    return _current


def install(tracing: Tracing) -> None:
    global _current
    _current = tracing
