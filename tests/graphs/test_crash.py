"""Crash between two tool calls: the child running the graph is SIGKILLed after the first workspace is
written and before the second; a new process continues the thread from its checkpoint. The first call
replays with the same idempotency key, so each workspace exists exactly once."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.graphs.harness import run_child, start_child
from tests.waiting import scaled, wait_until

pytestmark = pytest.mark.slow

REQUEST = 'Set up workspaces "Acme Data" and "Acme QA" for cus_acme'


def workspaces(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name FROM desk.workspaces WHERE name IN ('Acme Data', 'Acme QA') ORDER BY name")
        return [row[0] for row in rows.fetchall()]


def wait_for(path: Path, proc_alive: Callable[[], bool]) -> None:
    def reached() -> bool:
        if path.exists():
            return True
        assert proc_alive(), "the child exited before the second tool call"
        return False

    wait_until(reached, what="the child to reach the second tool call")


def test_sigkill_between_two_tool_calls_then_resume_in_a_new_process(database_url: str, tmp_path: Path) -> None:
    thread = str(uuid.uuid4())
    ready = tmp_path / "ready"
    command = {"url": database_url, "graph": "onboarding", "thread": thread, "action": "ask", "request": REQUEST}
    child = start_child({**command, "block_on_call": 2, "ready_file": str(ready)}, tmp_path / "child.log")
    try:
        wait_for(ready, lambda: child.poll() is None)
        assert workspaces(database_url) == ["Acme Data"]  # the first call committed, the second has not run
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=scaled(60))
    assert child.returncode == -signal.SIGKILL

    done = run_child({"url": database_url, "graph": "onboarding", "thread": thread, "action": "continue"})
    assert workspaces(database_url) == ["Acme Data", "Acme QA"]
    with psycopg.connect(database_url) as conn:
        effects = conn.execute("SELECT count(*) FROM desk.tool_effects WHERE tool = 'create_workspace'").fetchone()
    assert effects == (2,)  # one recorded effect per call: the replayed first call wrote nothing new
    assert done["interrupts"] == []
    assert "Acme Data" in done["answer"]
    assert "Acme QA" in done["answer"]
