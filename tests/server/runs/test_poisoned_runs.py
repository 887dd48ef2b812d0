"""Poisoned runs: a run that keeps its worker busy past its timeout ends, and is not claimed again forever.

A node stuck in a thread (a sync node LangGraph runs in an executor: cancelling the run's task does not stop the
thread) ends `timeout` at KEEL_RUN_TIMEOUT, counted from the run's first start, across hand-backs and restarts.
A node that holds the event loop cannot be interrupted in its process: its lease expires, every claim counts an
attempt, and after KEEL_RUN_MAX_ATTEMPTS the sweeper ends it `error`. Every wait here is on a run's status or a
row, with deadlines far above what an idle machine needs."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.server.runs.cluster import Cluster

pytestmark = pytest.mark.slow

FOREVER = 3600.0
ENDED = {"success", "error", "timeout", "interrupted"}


async def _until(client: LangGraphClient, thread_id: str, run_id: str, wanted: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = await client.runs.get(thread_id, run_id)
        if run["status"] in wanted:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {wanted}")


async def _until_row(cluster: Cluster, sql: str, *params: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cluster.query(sql, *params):
        assert time.monotonic() < deadline, f"never true: {sql}"
        await asyncio.sleep(0.1)


def _executions(cluster: Cluster, run_id: str) -> int:
    return int(cluster.query("SELECT count(*) FROM executions WHERE run_id = %s", run_id)[0][0])


def _thread_status(cluster: Cluster, thread_id: str) -> str:
    return str(cluster.query("SELECT status FROM keel.threads WHERE thread_id = %s", thread_id)[0][0])


@pytest.mark.parametrize("process", ["keel worker", "keel serve"])
async def test_a_run_stuck_in_a_thread_ends_timeout_and_its_process_still_stops(cluster: Cluster, process: str):
    if process == "keel worker":
        api = cluster.api("api")
        worker = cluster.worker("worker", extra={"KEEL_RUN_TIMEOUT": "2"})
    else:
        api = worker = cluster.serve("server", KEEL_RUN_TIMEOUT="2", KEEL_SHUTDOWN_GRACE="0.5")
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "stuck", input={"block_s": FOREVER}, if_not_exists="create")
        ended = await _until(client, thread_id, run["run_id"], ENDED)
        assert ended["status"] == "timeout", dict(ended)
        assert "timeout" in dict(ended)["error"]
        assert _thread_status(cluster, thread_id) == "error"
        started = time.monotonic()
        assert worker.stop(signal.SIGTERM, timeout=60) == 0, "the thread still blocked in the node holds no exit"
        assert time.monotonic() - started < 20
        assert "still blocked" in worker.output()
    assert cluster.query("SELECT status FROM keel.runs WHERE run_id = %s", run["run_id"]) == [("timeout",)]
    assert _executions(cluster, run["run_id"]) == 1


async def test_a_stuck_run_handed_back_at_shutdown_is_not_run_again_after_its_timeout(cluster: Cluster):
    """SIGTERM hands a running run back without counting the attempt (a deploy is not a failure). A run stuck
    in a node would be handed back at every restart, forever; its timeout, counted from its first start, ends it
    at the next claim instead of running it again."""
    api = cluster.api("api")
    timeout = {"KEEL_RUN_TIMEOUT": "3"}
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "stuck", input={"block_s": FOREVER}, if_not_exists="create")
        first = cluster.worker("first", extra=timeout)
        await _until_row(cluster, "SELECT 1 FROM executions WHERE run_id = %s", run["run_id"])
        assert first.stop(signal.SIGTERM, timeout=60) == 0
        handed_back = await client.runs.get(thread_id, run["run_id"])
        assert handed_back["status"] == "pending", dict(handed_back)
        # Past the deadline (3 s after the first start), by the database's clock.
        await _until_row(
            cluster,
            "SELECT 1 FROM keel.runs WHERE run_id = %s AND now() > started_at + interval '3.5 seconds'",
            run["run_id"],
        )
        second = cluster.worker("second", extra=timeout)
        ended = await _until(client, thread_id, run["run_id"], ENDED)
        assert ended["status"] == "timeout", dict(ended)
        parts = [part async for part in client.runs.join_stream(thread_id, run["run_id"])]
        assert second.stop(signal.SIGTERM, timeout=60) == 0
    assert _executions(cluster, run["run_id"]) == 1, "a run past its deadline is not started again"
    assert _thread_status(cluster, thread_id) == "error"
    assert [p.event for p in parts][-2:] == ["error", "end"]
    assert "timeout" in parts[-2].data["message"]


async def test_a_run_that_holds_the_event_loop_ends_error_after_max_attempts(cluster: Cluster):
    """Its heartbeats stop with the loop, so its lease expires; each claim counts an attempt, and no worker
    claims it past the limit: the sweeper ends it with the reason, and a worker started afterwards stays free."""
    api = cluster.api("api")
    env = {"KEEL_RUN_MAX_ATTEMPTS": "2"}
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "hog", input={"block_s": FOREVER}, if_not_exists="create")
        for attempt in (1, 2):
            cluster.worker(f"frozen-{attempt}", lease=2.0, extra=env)
            await _until_row(
                cluster, "SELECT 1 FROM executions WHERE run_id = %s HAVING count(*) = %s", run["run_id"], attempt
            )
            # The frozen process never hands the run back: SIGTERM waits on the loop it holds.
        cluster.worker("judge", extra=env)
        ended = await _until(client, thread_id, run["run_id"], ENDED)
        assert ended["status"] == "error", dict(ended)
        assert "abandoned after 2 attempt(s)" in dict(ended)["error"]
        after = cluster.worker("after-restart", extra=env)
        quick = await client.runs.create(thread_id, "steps", input={"delay": 0.0, "done": []})
        assert (await _until(client, thread_id, quick["run_id"], ENDED))["status"] == "success"
        assert after.stop(signal.SIGTERM, timeout=60) == 0
    assert _executions(cluster, run["run_id"]) == 2
    assert _thread_status(cluster, thread_id) in {"idle", "error"}
