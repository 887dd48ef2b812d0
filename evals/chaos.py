"""Chaos phases: the suite run again while something breaks, on the keel the eval started.

- `tools`: the workers are restarted with `KEEL_TOOL_FAULTS` (nodes/faults.py): every desk tool times out or
  answers 503 on a share of its calls, drawn from a hash of the seed, thread and call (so a replay meets the same
  fault). The fault strikes before the tool runs, so a write is never half-done.
- `worker-kill`: while the phase runs, whenever a run is executing, one worker is SIGKILLed and a new one started;
  the killed worker's runs are retried from their last checkpoint once their lease runs out.
- `pg-restart`: while the phase runs, whenever a run is executing, PostgreSQL is restarted (`pg_ctl restart -m fast`).

What each phase must show: duplicated effects 0 (a write replayed by a retry is written once); its success rate is
reported apart from the clean run's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Literal, get_args

import psycopg

from evals.cluster import Cluster

Chaos = Literal["tools", "worker-kill", "pg-restart"]
KINDS: tuple[Chaos, ...] = get_args(Chaos)
# Every tool that reaches the desk fails now and then: reads (the agent must retry or say so) and writes (the
# fault strikes before the write, so a retried write must still land once).
TOOL_FAULTS = {
    name: {"timeout": 0.15, "error": 0.15}
    for name in (
        "lookup_customer",
        "check_billing_status",
        "check_admin_permissions",
        "create_workspace",
        "open_ticket",
        "enable_paid_plan",
        "issue_refund",
        "send_external_message",
    )
}
TOOL_FAULTS_ENV = {"KEEL_TOOL_FAULTS": json.dumps(TOOL_FAULTS), "KEEL_TOOL_FAULTS_SEED": "17"}
DISRUPTIONS = 3  # kills or restarts per phase: enough to land mid-task, few enough that tasks can still finish


def _wait_for_a_running_run(url: str, stop: threading.Event) -> bool:
    """Block until some run is executing (True), or `stop` is set (False). Polls often: offline runs are short."""
    while not stop.is_set():
        try:
            with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
                while not stop.is_set():
                    row = conn.execute("SELECT count(*) FROM keel.runs WHERE status = 'running'").fetchone()
                    if row and row[0]:
                        return True
                    stop.wait(0.02)
        except psycopg.OperationalError:  # PostgreSQL is restarting
            stop.wait(0.5)
    return False


async def _disrupt(cluster: Cluster, kind: Chaos, size: int, gap_s: float, done: list[str]) -> None:
    stop = threading.Event()
    try:
        for _ in range(DISRUPTIONS):
            if not await asyncio.to_thread(_wait_for_a_running_run, cluster.database_url, stop):
                return
            if kind == "worker-kill":
                cluster.kill_worker()
                done.append("worker SIGKILLed while a run was executing")
                await asyncio.to_thread(cluster.start_worker, size)
            else:
                await asyncio.to_thread(cluster.restart_postgres)
                done.append("PostgreSQL restarted while a run was executing")
            await asyncio.sleep(gap_s)  # let the suite make progress between disruptions
    finally:
        stop.set()


@contextlib.asynccontextmanager
async def phase(cluster: Cluster, kind: Chaos, *, size: int, gap_s: float = 3.0) -> AsyncIterator[list[str]]:
    """The cluster disrupted by `kind` for as long as the body runs (the workers restored afterwards); yields the
    list of disruptions made, filled in as they happen."""
    done: list[str] = []
    if kind == "tools":
        live = [w for w in cluster.workers if w.proc.poll() is None]
        saved = dict(cluster.env)
        cluster.env.update(TOOL_FAULTS_ENV)
        for _ in live:
            await asyncio.to_thread(cluster.start_worker, size)
        for worker in live:
            await asyncio.to_thread(worker.stop)
        done.append(f"workers restarted with KEEL_TOOL_FAULTS={TOOL_FAULTS_ENV['KEEL_TOOL_FAULTS']}")
        try:
            yield done
        finally:
            cluster.env = saved
            faulty = [w for w in cluster.workers if w.proc.poll() is None]
            for _ in faulty:
                await asyncio.to_thread(cluster.start_worker, size)
            for worker in faulty:
                await asyncio.to_thread(worker.stop)
        return
    disruptor = asyncio.create_task(_disrupt(cluster, kind, size, gap_s, done))
    try:
        yield done
    finally:
        disruptor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await disruptor
        if kind == "worker-kill" and not any(w.proc.poll() is None for w in cluster.workers):
            await asyncio.to_thread(cluster.start_worker, size)
