"""Chaos mode (`python -m evals --chaos ...`): a worker SIGKILLed and PostgreSQL restarted while runs execute; every
attempt still ends, and no desk write is duplicated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.process import REPO

pytestmark = pytest.mark.slow

TASKS = Path(__file__).parent / "runner_tasks.yaml"


def _evals(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--dataset", str(TASKS), "--results", str(results), *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    [folder] = results.iterdir()
    return done, folder


def test_worker_kills_and_a_postgres_restart_duplicate_no_effect(tmp_path: Path) -> None:
    done, folder = _evals(tmp_path, "--repeat", "3", "--chaos", "worker-kill", "--chaos", "pg-restart")
    output = done.stdout + done.stderr
    disruptions = json.loads((folder / "chaos.json").read_text())
    # Each phase disrupted keel at least once while a run was executing (not only between tasks).
    assert disruptions["worker-kill"], output
    assert disruptions["pg-restart"], output
    observed = [json.loads(line) for line in (folder / "observed.jsonl").read_text().splitlines()]
    chaotic = [o for o in observed if o["chaos"]]
    assert len(chaotic) == 2 * 3 * 3
    assert [o for o in chaotic if o["error"]] == []
    assert sum(o["duplicated_effects"] for o in chaotic) == 0
    summary = json.loads((folder / "report.json").read_text())["summary"]
    assert {row["chaos"]: row["duplicated_effects"] for row in summary["chaos"]} == {"worker-kill": 0, "pg-restart": 0}
    assert done.returncode == 0, output


def test_injected_tool_faults_reach_the_agents_and_duplicate_no_effect(tmp_path: Path) -> None:
    # Which calls fail is drawn per thread and call (nodes/faults.py), and threads are new each time: the 3 tasks make
    # about 4 calls a tool faults can hit per attempt, so 8 repeats leave ~1e-5 odds that no call meets one
    # (4 repeats left ~3e-3, and CI met them once).
    done, folder = _evals(tmp_path, "--repeat", "8", "--chaos", "tools")
    output = done.stdout + done.stderr
    observed = [json.loads(line) for line in (folder / "observed.jsonl").read_text().splitlines()]
    chaotic = [o for o in observed if o["chaos"] == "tools"]
    assert len(chaotic) == 3 * 8
    # KEEL_TOOL_FAULTS reached the workers: some calls met an injected timeout or 503 (30 % of each tool's calls).
    failed = [c["result"] for o in chaotic for c in o["tool_calls"] if c["ok"] is False]
    assert any("503" in (r or "") or "timed out" in (r or "").lower() for r in failed), failed
    assert sum(o["duplicated_effects"] for o in chaotic) == 0, output
