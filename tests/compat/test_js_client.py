"""The streaming, interrupt and thread-search calls through the official JS client (`@langchain/langgraph-sdk`,
pinned in js/package.json and js/package-lock.json), run under node by js/compat.mjs.

The SDK is installed with `npm ci` into js/node_modules (git-ignored) when that is missing or older than the
lock file. node and npm come from the machine image's Debian `nodejs` package (.ci/run installs it when absent);
a machine without them skips this module, saying so."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.process import KeelProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npm") is None,
        reason="node and npm are not installed (Debian package nodejs); the JS client cannot run",
    ),
]

JS = Path(__file__).with_name("js")


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    """js/ with the locked SDK installed (`npm ci` only when the lock file changed since the last install)."""
    installed = JS / "node_modules" / ".package-lock.json"
    lock = JS / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=300)
    return JS


def run_script(js_sdk: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "compat.mjs", *args], cwd=js_sdk, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_js_client_streams_stops_at_an_interrupt_resumes_streams_events_and_searches(
    js_sdk: Path, compat_server: KeelProcess
) -> None:
    tag = str(uuid.uuid4())
    result = run_script(js_sdk, compat_server.base_url, tag)
    assert result["events"][0] == "metadata"
    assert any(event.startswith("updates|review") for event in result["events"]), result["events"]
    assert result["interrupts"] == [{"question": "Approve deploy?"}]
    assert result["final"] == {"request": "deploy", "decision": "yes", "outcome": "done"}
    assert result["status"] == "idle"
    assert result["found"] == [result["thread_id"]]
    assert {"on_chain_start", "on_chain_end"} <= set(result["event_kinds"]), result["event_kinds"]
