"""E-mail addresses and card numbers in a run's messages stay out of its Langfuse spans and keel's logs, unless
KEEL_LOG_CONTENT=true lets content in: real keel processes, the real Langfuse SDK, a local OTLP receiver."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from langgraph_sdk import get_client

from server.observability.pii import CARD_MASK, EMAIL_MASK
from tests.server.observability.receiver import Receiver
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.unit.test_pii import CARD, EMAIL, REQUEST
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow


async def _ended(cluster: Cluster, run_id: str) -> str:
    def ended() -> str | None:
        [(status,)] = cluster.query("SELECT status FROM keel.runs WHERE run_id = %s", run_id)
        return None if status in ("pending", "running") else str(status)

    return await wait_until_async(ended, what=f"run {run_id} to end", interval=0.1)


async def _serve_and_run(cluster: Cluster, receiver: Receiver, name: str, env: dict[str, str]) -> tuple[str, str]:
    """Everything the support run's trace exported (its span attributes as JSON) and the process's log, after a
    support run and a failing run, both carrying REQUEST."""
    keel = cluster.serve(name, port=None, **env)
    async with get_client(url=keel.base_url) as client:
        answered = await client.runs.create(None, "support", input=human(REQUEST))
        failed = await client.runs.create(None, "fail", input=human(REQUEST))
        assert await _ended(cluster, answered["run_id"]) == "success"
        assert await _ended(cluster, failed["run_id"]) == "error"
        run = await client.runs.get(answered["thread_id"], answered["run_id"])
        trace_id = str((run["metadata"] or {})["trace_id"])

    def root_exported(r: Receiver) -> bool:  # the root span ends last: every other span was exported before it
        return any(s.attributes.get("langfuse.internal.as_root") for s in r.traces().get(trace_id, []))

    receiver.wait_for(root_exported)
    keel.stop(signal.SIGTERM)
    spans: list[dict[str, Any]] = [{"name": s.name, **s.attributes} for s in receiver.traces()[trace_id]]
    return json.dumps(spans), keel.output()


async def test_emails_and_cards_are_masked_unless_content_is_allowed(traced_cluster: Cluster, receiver: Receiver):
    spans, log = await _serve_and_run(traced_cluster, receiver, "masked", {})
    assert "cus_initech" in spans, "the run's messages are in its spans"
    assert EMAIL_MASK in spans and CARD_MASK in spans
    assert EMAIL not in spans and CARD not in spans
    assert "cannot handle" in log and EMAIL_MASK in log and CARD_MASK in log, "the failed run's error is logged"
    assert EMAIL not in log and CARD not in log

    spans, log = await _serve_and_run(traced_cluster, receiver, "content", {"KEEL_LOG_CONTENT": "true"})
    assert EMAIL in spans and CARD in spans
    assert EMAIL in log and CARD in log
