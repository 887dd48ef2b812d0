"""E-mail addresses and card numbers in a run's messages stay out of its Langfuse spans and keel's logs, unless
KEEL_LOG_CONTENT=true lets content in: real keel processes, the real Langfuse SDK, a local OTLP receiver."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

import pytest
from langgraph_sdk import get_client

from server.observability.logging import formatter, log_context
from server.observability.pii import CARD_MASK, EMAIL_MASK, luhn_valid, mask_pii
from tests.server.observability.receiver import Receiver
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.waiting import wait_until_async

EMAIL = "bob.smith@initech.example"
CARD = "4111 1111 1111 1111"  # Luhn-valid (a test Visa number)
REQUEST = f"I am {EMAIL}, my card {CARD} was declined: what is the billing status of cus_initech?"


def test_card_numbers_are_luhn_valid_digit_runs_and_emails_any_address():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    run = "12345678-1234-5678-1234-567812345678"  # digit groups, but no card
    text = f"pay 4111-1111-1111-1111 or 4111111111111112, ask a@b.example, run {run}"
    assert mask_pii(text) == f"pay {CARD_MASK} or 4111111111111112, ask {EMAIL_MASK}, run {run}"


def _record() -> logging.LogRecord:
    try:
        raise ValueError(f"cannot handle {REQUEST!r}")
    except ValueError:
        exc_info = sys.exc_info()
    return logging.LogRecord("keel.test", logging.ERROR, __file__, 1, "run for %s failed", (EMAIL,), exc_info)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_log_lines_mask_the_message_and_the_exception_unless_content_is_allowed(fmt: str):
    run_id = "4111111111111111"  # the run's fields are keel's ids, never masked (a card-like one included)
    with log_context(run_id=run_id):
        masked = formatter(fmt, content=False).format(_record())
        kept = formatter(fmt, content=True).format(_record())
    assert EMAIL not in masked and CARD not in masked
    assert masked.count(EMAIL_MASK) == 2 and masked.count(CARD_MASK) == 1  # in the message and in the error
    assert run_id in masked
    assert EMAIL in kept and CARD in kept


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


@pytest.mark.slow
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
