"""The streaming, interrupt and thread-search calls through the official JS client, run under node by
js/compat.mjs (how: tests/compat/js_client.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.compat.js_client import install_js_sdk, needs_node, run_node
from tests.process import KeelProcess

pytestmark = [pytest.mark.slow, needs_node]


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    return install_js_sdk()


def test_the_js_client_streams_stops_at_an_interrupt_resumes_streams_events_and_searches(
    js_sdk: Path, compat_server: KeelProcess
) -> None:
    tag = str(uuid.uuid4())
    result = run_node(js_sdk, "compat.mjs", compat_server.base_url, tag)
    assert result["events"][0] == "metadata"
    assert any(event.startswith("updates|review") for event in result["events"]), result["events"]
    assert result["interrupts"] == [{"question": "Approve deploy?"}]
    assert result["final"] == {"request": "deploy", "decision": "yes", "outcome": "done"}
    assert result["status"] == "idle"
    assert result["found"] == [result["thread_id"]]
    assert {"on_chain_start", "on_chain_end"} <= set(result["event_kinds"]), result["event_kinds"]
