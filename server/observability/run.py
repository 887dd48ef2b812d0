"""What the run path calls: one `RunObservation` per run attempt ties its trace, usage and metrics together.

The worker opens it when it claims a run (`begin`), `execute` adds its callbacks and Langfuse attributes to
the LangGraph config, and the worker closes it with the final status (`finished`). What it needs from the
database (the run a resume answers) the worker reads from the store and passes in."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from server.observability import metrics, tracing
from server.observability.callbacks import StepMetrics
from server.observability.guardrails import GuardrailEvents
from server.observability.usage import UsageCollector
from server.records import EndStatus, Run
from server.settings import ModelPrice, Settings

_prices: Mapping[str, ModelPrice] = {}
GUARDRAIL_EVENTS = GuardrailEvents()  # stateless: one for every run


def install(settings: Settings) -> Callable[[], None]:
    """Set up this process's tracing and price table; returns the shutdown that flushes spans."""
    global _prices
    _prices = dict(settings.observability.prices)
    tracer = tracing.Tracing(settings.langfuse, content=settings.observability.log_content)
    tracing.install(tracer)
    return tracer.shutdown


class RunObservation:
    def __init__(
        self, run: Run, *, resumed_from: str | None = None, decisions: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        self.run_id: uuid.UUID = run["run_id"]
        self.thread_id: uuid.UUID = run["thread_id"]
        self.graph: str = run["graph_id"]
        self.attempt: int = run["attempt"]
        self.created_at: dt.datetime | None = run["created_at"]
        # The run's trace user: whoever decided the approvals it carries (keel.approvals rows), else the
        # authenticated caller who created it, else the run's metadata `user_id`.
        deciders = [str(row["decider"]) for row in decisions if row.get("decider")]
        configurable = (run["kwargs"].get("config") or {}).get("configurable") or {}
        creator = configurable.get("langgraph_auth_user_id")
        self.user_id = deciders[0] if deciders else creator or (run["metadata"] or {}).get("user_id")
        self.decisions = list(decisions)
        self.resumed_from = resumed_from
        self.tracing = tracing.current()
        self.trace_id = self.tracing.trace_id(self.run_id) if self.tracing.enabled else None
        self.trace_url = self.tracing.trace_url(self.trace_id) if self.trace_id else None
        self.usage = UsageCollector(_prices)
        self.steps = StepMetrics(self.graph)
        self._started = time.monotonic()
        self._elapsed_before = float(cast(Mapping[str, Any], run).get("elapsed_s") or 0.0)
        self._first_event_seen = False
        self.budget_carry: dict[str, Any] | None = None  # what the run resuming this one carries (runs/budget.py)

    def run_metadata(self) -> dict[str, str]:
        """Kept on the run (and sent in the SSE `metadata` event): how to find its trace and its origin."""
        found = {"trace_id": self.trace_id, "trace_url": self.trace_url, "resumed_from": self.resumed_from}
        return {key: value for key, value in found.items() if value is not None}

    def log_fields(self) -> dict[str, str]:
        fields = {"run_id": str(self.run_id), "thread_id": str(self.thread_id), "graph": self.graph}
        return fields | ({"trace_id": self.trace_id} if self.trace_id else {})

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        """Add the callbacks and, when tracing, the Langfuse trace attributes (read at the root span)."""
        callbacks: list[Any] = [self.usage, self.steps, GUARDRAIL_EVENTS]
        metadata = config.setdefault("metadata", {})
        metadata["attempt"] = self.attempt
        if self.resumed_from:
            metadata["resumed_from"] = self.resumed_from
        if self.trace_id is not None:
            callbacks.append(self.tracing.handler(self.trace_id, [_decision_event(row) for row in self.decisions]))
            metadata["langfuse_session_id"] = str(self.thread_id)
            metadata["langfuse_trace_name"] = self.graph
            tags = [self.graph] + (["resume"] if self.resumed_from else []) + (["retry"] if self.attempt > 1 else [])
            metadata["langfuse_tags"] = tags
            if isinstance(self.user_id, str) and self.user_id:
                metadata["langfuse_user_id"] = self.user_id
        config["callbacks"] = [*(config.get("callbacks") or []), *callbacks]
        return config

    def event_streamed(self) -> None:
        """Call for each graph event; the first one of a first attempt times the wait for output."""
        if self._first_event_seen:
            return
        self._first_event_seen = True
        if self.attempt == 1 and self.created_at is not None:
            waited = (dt.datetime.now(dt.UTC) - self.created_at).total_seconds()
            metrics.TIME_TO_FIRST_EVENT.labels(graph=self.graph).observe(max(waited, 0.0))

    def usage_summary(self) -> dict[str, Any]:
        """The run's tokens, cost, model and tool calls and wall time (since it first started), and its budget carry."""
        wall_s = round(self._elapsed_before + time.monotonic() - self._started, 3)
        carry = {"budget": self.budget_carry} if self.budget_carry else {}
        return self.usage.summary() | {"wall_s": wall_s} | carry

    def finished(self, status: EndStatus) -> None:
        metrics.RUNS.labels(graph=self.graph, status=status).inc()
        metrics.RUN_DURATION.labels(graph=self.graph).observe(time.monotonic() - self._started)


_DECISION_FIELDS = (
    "interrupt_id",
    "action_index",
    "tool",
    "decision",
    "decider",
    "decider_name",
    "requested_by",
    "reason",
    "message",
)


def _decision_event(row: Mapping[str, Any]) -> tracing.TraceEvent:
    """An approval decision (a keel.approvals row) as the event the resumed run's trace records."""
    metadata = {key: row[key] for key in _DECISION_FIELDS if row.get(key) is not None}
    metadata["decided_at"] = str(row.get("decided_at"))
    answer = {"decision": row["decision"], "proposed_args": row["proposed_args"], "final_args": row["final_args"]}
    return tracing.TraceEvent(f"approval {row['decision']}: {row['tool']}", answer, metadata)
