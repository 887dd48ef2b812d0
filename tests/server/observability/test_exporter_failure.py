"""Langfuse being down never fails or slows a run: spans are exported in the background, failures logged."""

from __future__ import annotations

import time
import uuid

import pytest
from langgraph_sdk import get_client

from tests.server.observability.receiver import Receiver
from tests.server.observability.test_metrics import ask
from tests.server.runs.cluster import Cluster

pytestmark = pytest.mark.slow


async def test_a_failing_langfuse_neither_fails_nor_slows_runs(traced_cluster: Cluster, receiver: Receiver):
    receiver.failing = True
    keel = traced_cluster.serve("keel", LANGFUSE_TIMEOUT="3")
    async with get_client(url=keel.base_url) as client:
        for _ in range(3):
            thread_id = str(uuid.uuid4())
            started = time.monotonic()
            values = await client.runs.wait(
                thread_id,
                "support",
                input=ask("What is the billing status of cus_initech?"),
                if_not_exists="create",
            )
            elapsed = time.monotonic() - started
            [run] = await client.runs.list(thread_id)
            assert run["status"] == "success", values
            # Each export is retried with backoff for up to LANGFUSE_TIMEOUT (3 s): a run waiting on it would
            # take at least that long.
            assert elapsed < 1.5, f"run took {elapsed:.2f}s with Langfuse failing"
            assert (run["metadata"] or {})["trace_id"]
    deadline = time.monotonic() + 15
    while receiver.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.requests > 0, "the SDK did try to export"
    assert receiver.spans == []
    keel.stop()
    assert "Failed to export" in keel.output(), "the exporter failure is logged"
