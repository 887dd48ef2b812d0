"""`/metrics` moves by exactly what known runs did; `/health` and `/ready` say why when not ready."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from prometheus_client.parser import text_string_to_metric_families

from tests.server.runs.cluster import Cluster

pytestmark = pytest.mark.slow

PRICES = {"offline": {"input": 1.0, "output": 2.0}}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> Samples:
    text = httpx.get(f"{base_url}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def test_metrics_count_exactly_what_the_runs_did(untraced_cluster: Cluster):
    keel = untraced_cluster.serve("keel", KEEL_PRICES=json.dumps(PRICES))
    async with get_client(url=keel.base_url) as client:
        # An open stream is a connected SSE client.
        thread = str(uuid.uuid4())
        async for part in client.runs.stream(
            thread, "steps", input={"delay": 0.3, "done": []}, stream_mode=["updates"], if_not_exists="create"
        ):
            if part.event == "metadata":
                assert scrape(keel.base_url)[("keel_sse_clients", frozenset())] == 1
        before = scrape(keel.base_url)
        assert before[("keel_sse_clients", frozenset())] == 0

        runs = [
            ("support", ask("Hello!")),
            ("support", ask("What is the billing status of cus_initech?")),
            ("support", ask("What is the billing status of cus_nobody?")),
            ("support", ask("Refund $49 of invoice inv_initech_2026_09 for cus_initech, they were double charged")),
            ("echo", ask("hi")),
            ("steps", {"delay": "not a number", "done": []}),
        ]
        ended: list[dict[str, Any]] = []
        for graph, payload in runs:
            thread = str(uuid.uuid4())
            if graph == "steps":
                with pytest.raises(Exception, match="TypeError"):  # the SDK raises a failed run's error
                    await client.runs.wait(thread, graph, input=payload, if_not_exists="create")
            else:
                await client.runs.wait(thread, graph, input=payload, if_not_exists="create")
            [run] = await client.runs.list(thread)
            ended.append(dict(run))
    after = scrape(keel.base_url)

    assert [run["status"] for run in ended] == ["success"] * 3 + ["interrupted", "success", "error"]
    assert delta(before, after, "keel_runs_total", graph="support", status="success") == 3
    assert delta(before, after, "keel_runs_total", graph="support", status="interrupted") == 1
    assert delta(before, after, "keel_runs_total", graph="echo", status="success") == 1
    assert delta(before, after, "keel_runs_total", graph="steps", status="error") == 1
    for graph, count in (("support", 4), ("echo", 1), ("steps", 1)):
        assert delta(before, after, "keel_run_duration_seconds_count", graph=graph) == count
        assert delta(before, after, "keel_run_time_to_first_event_seconds_count", graph=graph) == count
    assert delta(before, after, "keel_node_duration_seconds_count", graph="echo", node="model") == 1
    assert delta(before, after, "keel_node_duration_seconds_count", graph="echo", node="finish") == 1
    assert delta(before, after, "keel_node_duration_seconds_count", graph="steps", node="one") == 1
    assert delta(before, after, "keel_node_duration_seconds_count", graph="steps", node="two") == 0
    # cus_initech's status is checked twice (the question and before the refund); cus_nobody's fails.
    assert delta(before, after, "keel_tool_calls_total", tool="check_billing_status", outcome="ok") == 2
    assert delta(before, after, "keel_tool_calls_total", tool="check_billing_status", outcome="error") == 1

    # Tokens and cost: what the runs report as their usage, priced with KEEL_PRICES.
    used_in = sum(run["usage"].get("input_tokens", 0) for run in ended)
    used_out = sum(run["usage"].get("output_tokens", 0) for run in ended)
    assert used_in > 0 and used_out > 0
    assert delta(before, after, "keel_llm_tokens_total", model="offline", kind="input") == used_in
    assert delta(before, after, "keel_llm_tokens_total", model="offline", kind="output") == used_out
    cost = delta(before, after, "keel_llm_cost_dollars_total", model="offline")
    assert cost == pytest.approx((used_in * 1.0 + used_out * 2.0) / 1e6)
    assert sum(run["usage"].get("cost", 0) for run in ended) == pytest.approx(cost)

    # Database-wide gauges: the refund waits for its approval; nothing is queued.
    assert after[("keel_pending_interrupts", frozenset())] == 1
    assert after[("keel_queue_depth", frozenset())] == 0
    assert after[("keel_queue_oldest_pending_age_seconds", frozenset())] == 0


async def test_health_and_ready_with_the_reason_when_not_ready(untraced_cluster: Cluster):
    keel = untraced_cluster.serve("keel")
    assert httpx.get(f"{keel.base_url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{keel.base_url}/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "workers": "ok"}

    untraced_cluster.query("DELETE FROM keel.schema_migrations WHERE version = 3 RETURNING version")
    not_ready = httpx.get(f"{keel.base_url}/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["reason"] == "migrations not applied: [3]"
    assert httpx.get(f"{keel.base_url}/health").status_code == 200, "liveness does not depend on the database"
