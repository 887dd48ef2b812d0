"""Prometheus metrics of one keel process, on a registry of keel's own (served at `/metrics`).

Counters and histograms count what this process did. The queue and interrupt gauges describe the whole
database and are set from it at scrape time (`services.metrics.refresh_database_gauges`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Runs last from milliseconds (a cached answer) to an hour (KEEL_RUN_TIMEOUT).
_RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_NODE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

RUNS = Counter("keel_runs", "Runs that ended, by graph and final status.", ["graph", "status"], registry=REGISTRY)
RUN_DURATION = Histogram(
    "keel_run_duration_seconds",
    "Wall time of a run's final attempt, from claim to final status.",
    ["graph"],
    buckets=_RUN_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_FIRST_EVENT = Histogram(
    "keel_run_time_to_first_event_seconds",
    "From a run's creation to its first streamed graph event (queue wait included).",
    ["graph"],
    buckets=_RUN_BUCKETS,
    registry=REGISTRY,
)
NODE_DURATION = Histogram(
    "keel_node_duration_seconds",
    "Wall time of one node execution.",
    ["graph", "node"],
    buckets=_NODE_BUCKETS,
    registry=REGISTRY,
)
TOOL_CALLS = Counter(
    "keel_tool_calls", "Tool calls by tool and outcome (ok or error).", ["tool", "outcome"], registry=REGISTRY
)
GUARDRAIL_EVENTS = Counter(
    "keel_guardrail_events",
    "Guardrail occurrences by guardrail and action (nodes/guardrails.py lists them).",
    ["guardrail", "action"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "keel_llm_tokens", "LLM tokens by model and kind (input or output).", ["model", "kind"], registry=REGISTRY
)
LLM_CALLS = Counter(
    "keel_llm_calls", "LLM calls by model (what budgets count as model_calls).", ["model"], registry=REGISTRY
)
LLM_COST = Counter("keel_llm_cost_dollars", "LLM cost in US dollars by model.", ["model"], registry=REGISTRY)
SSE_CLIENTS = Gauge("keel_sse_clients", "SSE clients connected to this process.", registry=REGISTRY)
QUEUE_DEPTH = Gauge("keel_queue_depth", "Runs waiting in the queue (pending), database-wide.", registry=REGISTRY)
QUEUE_OLDEST_AGE = Gauge(
    "keel_queue_oldest_pending_age_seconds", "Age of the oldest pending run (0 when none).", registry=REGISTRY
)
PENDING_INTERRUPTS = Gauge(
    "keel_pending_interrupts", "Interrupts waiting for an answer (e.g. approvals), database-wide.", registry=REGISTRY
)


def set_database_gauges(*, queue_depth: int, oldest_pending_s: float, pending_interrupts: int) -> None:
    QUEUE_DEPTH.set(queue_depth)
    QUEUE_OLDEST_AGE.set(oldest_pending_s)
    PENDING_INTERRUPTS.set(pending_interrupts)
