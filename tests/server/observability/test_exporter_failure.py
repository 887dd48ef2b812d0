"""Langfuse being down never fails or slows a run: spans are exported in the background, failures logged."""

from __future__ import annotations

import uuid

import pytest
from langgraph_sdk import get_client

from tests.server.observability.receiver import Receiver
from tests.server.observability.test_metrics import ask
from tests.server.runs.cluster import Cluster
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow


async def test_a_failing_langfuse_neither_fails_nor_slows_runs(traced_cluster: Cluster, receiver: Receiver):
    # Langfuse takes every export and never answers (for as long as the exporter's timeout allows): a run that
    # waited on an export would never end, whatever the machine's speed.
    receiver.holding = receiver.failing = True
    keel = traced_cluster.serve("keel", LANGFUSE_TIMEOUT="600")
    async with get_client(url=keel.base_url) as client:
        for attempt in range(3):
            thread_id = str(uuid.uuid4())
            values = await client.runs.wait(
                thread_id,
                "support",
                input=ask("What is the billing status of cus_initech?"),
                if_not_exists="create",
            )
            [run] = await client.runs.list(thread_id)
            assert run["status"] == "success", values
            assert (run["metadata"] or {})["trace_id"]
            if attempt == 0:
                # The next runs start while an export is stuck.
                await wait_until_async(lambda: receiver.requests > 0, what="the SDK to try to export")
    assert receiver.spans == []
    receiver.holding = False  # now Langfuse refuses the batch
    keel.stop()
    assert "Failed to export" in keel.output(), "the exporter failure is logged"
