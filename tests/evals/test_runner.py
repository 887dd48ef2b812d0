"""The eval runner (evals/runner.py) against a real keel: what it records of each attempt, the desk reset between
attempts. (The parts that start no process: test_runner_units.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evals import desk
from evals.dataset import load
from evals.runner import Options, run_all
from tests.process import REPO, KeelProcess

pytestmark = pytest.mark.slow

TASKS = Path(__file__).parent / "runner_tasks.yaml"


@pytest.fixture
def keel(database_url: str, tmp_path: Path) -> Iterator[str]:
    env = {"DATABASE_URL": database_url, "KEEL_CONFIG": str(REPO / "langgraph.json"), "KEEL_RUN_POLL": "0.2"}
    proc = KeelProcess(["serve"], env=env, cwd=tmp_path, log=tmp_path / "keel.log")
    proc.wait_ready()
    yield proc.base_url
    proc.stop()


def _count(url: str, table: str, customer: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM desk.{table} WHERE customer_id = %s", (customer,)).fetchone()
    return int(row[0]) if row else 0


async def test_runner_records_each_attempt_from_a_reset_desk(keel: str, database_url: str) -> None:
    tasks = load([TASKS])
    await asyncio.to_thread(desk.load_seed, database_url)
    seed_tickets = _count(database_url, "tickets", "cus_acme")
    with psycopg.connect(database_url) as conn:  # left over from an earlier run: the reset removes it
        conn.execute(
            "INSERT INTO desk.tickets (customer_id, subject, body, priority) VALUES ('cus_acme', 's', 'b', 'low')"
        )

    observed = await run_all(tasks, Options(keel, database_url, concurrency=3, repeat=2))

    assert [(o.task_id, o.repeat) for o in observed] == [(t.id, k) for k in range(2) for t in tasks]
    assert [o.error for o in observed] == [None] * 6
    by = {(o.task_id, o.repeat): o for o in observed}
    for k in range(2):
        accepted = by["refund-accepted-acme", k]
        # Measured against the seed: the second attempt starts from the same desk as the first.
        assert accepted.effects == {"refunds": 1}
        assert accepted.duplicated_effects == 0
        refund = [c for c in accepted.tool_calls if c.name == "issue_refund"]
        assert [(c.agent, c.ok) for c in refund] == [("billing", True)]
        assert any(s.namespace and s.namespace[0].startswith("billing:") for s in accepted.steps)
        assert [a.answer for a in accepted.approvals] == [{"type": "accept"}]
        assert [r.status for r in accepted.runs] == ["interrupted", "success"]  # the request, then the resume
        assert all(r.usage.get("model_calls", 0) > 0 for r in accepted.runs)
        assert "inv_acme_2026_11" in accepted.answer

        rejected = by["refund-rejected-acme", k]
        assert rejected.effects == {}
        assert [a.answer["type"] for a in rejected.approvals] == ["reject"]

        budget = by["budget-stop-initech", k]
        assert budget.guardrails == ["budget"]
        assert [a.answer for a in budget.approvals] == [{"type": "stop", "reason": "enough for now"}]
    assert _count(database_url, "tickets", "cus_acme") == seed_tickets
