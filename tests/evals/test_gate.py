"""The CI gate (`python -m evals`, run by `make eval` in .ci/run): a planted routing regression fails it, and the
error table names the routing node; the same small dataset on keel's own graphs passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.process import REPO

pytestmark = pytest.mark.slow

TASKS = Path(__file__).parent / "gate_tasks.yaml"

# A test-only fault: `support` with the billing and provisioning workers' keywords swapped, so the supervisor hands
# billing work to provisioning and back (the regression a careless edit of a worker's keywords would make).
PLANTED = """
import dataclasses

from graphs.support import WORKERS, build as build_support

SWAP = {"billing": "provisioning", "provisioning": "billing"}


def build():
    keywords = {worker.name: worker.keywords for worker in WORKERS}
    return build_support([dataclasses.replace(w, keywords=keywords[SWAP.get(w.name, w.name)]) for w in WORKERS])
"""


def _evals(config: Path, results: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--dataset", str(TASKS), "--config", str(config), "--results", str(results)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=results.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    reports = list(results.glob("*/report.json"))
    assert len(reports) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(reports[0].read_text()), done.stdout + done.stderr


def test_a_planted_routing_regression_fails_the_gate(tmp_path: Path) -> None:
    (tmp_path / "planted_support.py").write_text(PLANTED)
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"support": "./planted_support.py:build"}}))

    code, report, output = _evals(config, tmp_path / "results")

    assert code == 1, output
    summary = report["summary"]
    assert summary["success_rate"] < 0.95
    assert ("supervisor", "route") in {(row["node"], row["kind"]) for row in summary["errors"]}, summary["errors"]


def test_the_same_tasks_on_keels_graphs_pass_the_gate(tmp_path: Path) -> None:
    code, report, output = _evals(REPO / "langgraph.json", tmp_path / "results")

    assert code == 0, output
    assert report["summary"]["success_rate"] == 1.0
