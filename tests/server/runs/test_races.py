"""Many clients at once on one thread: 20 concurrent creates with each multitask strategy, raced with cancels.

Creating a run locks its thread and (interrupt, rollback) then cancels the thread's active runs; ending a
run (its worker, a cancel, a rollback) writes the run and the thread too. Locked in opposite orders, the
two deadlock, and PostgreSQL answers one of them with an error that became a 500. Deadlocks are a matter
of timing, so each case runs several rounds; every answer must be below 500 and the thread must end idle
(not stuck `busy`) with no active run counted.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.process import KeelProcess

pytestmark = pytest.mark.slow

CONCURRENT = 20
# Rounds per strategy: an enqueued round runs its 21 runs one after another; the cancelling strategies are
# the ones that deadlocked, and their rounds are quick.
ROUNDS = {"enqueue": 3, "reject": 6, "interrupt": 10, "rollback": 10}
FINAL = {"success", "error", "timeout", "interrupted"}
QUICK: dict[str, Any] = {"delay": 0.02, "done": []}


async def _create(http: httpx.AsyncClient, thread_id: str, strategy: str) -> httpx.Response:
    return await http.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": "steps", "input": QUICK, "multitask_strategy": strategy, "if_not_exists": "create"},
    )


async def _cancel_some(http: httpx.AsyncClient, thread_id: str, created: list[str]) -> list[httpx.Response]:
    """Cancel runs as they are created (both actions), while the creates go on."""
    answers = []
    for i in range(CONCURRENT):
        await asyncio.sleep(0)
        if not created:
            await asyncio.sleep(0.01)
            continue
        run_id = created[-1] if i % 2 else created[len(created) // 2]
        action = "rollback" if i % 3 == 0 else "interrupt"
        answers.append(await http.post(f"/threads/{thread_id}/runs/{run_id}/cancel", params={"action": action}))
    return answers


async def _settled(url: str, thread_id: str, timeout: float = 60) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The thread row and its runs once no run is active (or whatever they are when time runs out)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for _ in range(int(timeout / 0.1)):
            runs = await (
                await conn.execute("SELECT run_id, status FROM keel.runs WHERE thread_id = %s", (thread_id,))
            ).fetchall()
            if all(run["status"] in FINAL for run in runs):
                break
            await asyncio.sleep(0.1)
        thread = await (
            await conn.execute("SELECT status, active_runs FROM keel.threads WHERE thread_id = %s", (thread_id,))
        ).fetchone()
    assert thread is not None
    return thread, runs


async def _round(http: httpx.AsyncClient, url: str, strategy: str, *, cancels: bool) -> None:
    thread_id = str(uuid.uuid4())
    first = await _create(http, thread_id, "enqueue")
    assert first.status_code == 200, first.text
    created = [first.json()["run_id"]]

    async def create() -> httpx.Response:
        answer = await _create(http, thread_id, strategy)
        if answer.status_code == 200:
            created.append(answer.json()["run_id"])
        return answer

    creates = asyncio.gather(*(create() for _ in range(CONCURRENT)))
    cancelled = _cancel_some(http, thread_id, created) if cancels else asyncio.sleep(0, result=[])
    answers, cancel_answers = await asyncio.gather(creates, cancelled)

    errors = [(a.status_code, a.text) for a in [*answers, *cancel_answers] if a.status_code >= 500]
    assert not errors, f"{strategy}: {len(errors)} server error(s): {errors[:3]}"
    allowed = {200, 409} if strategy == "reject" else {200}
    assert {a.status_code for a in answers} <= allowed, [(a.status_code, a.text) for a in answers]
    assert {a.status_code for a in cancel_answers} <= {202, 404}, [(a.status_code, a.text) for a in cancel_answers]

    thread, runs = await _settled(url, thread_id)
    stuck = [run for run in runs if run["status"] not in FINAL]
    assert not stuck, f"{strategy}: runs never ended: {stuck}"
    assert thread["active_runs"] == 0, thread
    assert thread["status"] in ("idle", "interrupted", "error"), thread


@pytest.mark.parametrize("strategy", ["enqueue", "reject", "interrupt", "rollback"])
async def test_concurrent_creates_and_cancels_never_fail_or_leave_the_thread_busy(served: KeelProcess, strategy: str):
    url = served.env["DATABASE_URL"]
    limits = httpx.Limits(max_connections=2 * CONCURRENT)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60, limits=limits) as http:
        for round_no in range(ROUNDS[strategy]):
            await _round(http, url, strategy, cancels=round_no % 2 == 1)
    assert "DeadlockDetected" not in served.output()
