"""Worker lifecycle: graceful hand-back on SIGTERM, the attempt limit, run timeouts, event retention."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from psycopg.rows import dict_row

from server.runs.store import purge_expired_events
from tests.server.runs.cluster import Cluster

pytestmark = pytest.mark.slow


async def _until(client: LangGraphClient, thread_id: str, run_id: str, wanted: set[str], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = await client.runs.get(thread_id, run_id)
        if run["status"] in wanted:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {wanted}")


async def test_sigterm_hands_running_runs_back_and_the_next_worker_finishes_them(cluster: Cluster):
    api = cluster.api("api")
    leaving = cluster.worker("leaving", size=2)
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "steps", input={"delay": 1.0, "done": []}, if_not_exists="create")
        await _until(client, thread_id, run["run_id"], {"running"})
        while not cluster.query("SELECT 1 FROM side_effects WHERE run_id = %s", run["run_id"]):
            await asyncio.sleep(0.05)
        started = time.monotonic()
        assert leaving.stop(signal.SIGTERM, timeout=30) == 0
        assert time.monotonic() - started < 10, "shutdown is bounded by KEEL_SHUTDOWN_GRACE"
        handed_back = await client.runs.get(thread_id, run["run_id"])
        assert handed_back["status"] == "pending" and dict(handed_back)["attempt"] == 0
        assert "handed back to the queue" in leaving.output()

        cluster.worker("next")
        done = await _until(client, thread_id, run["run_id"], {"success", "error"})
    assert done["status"] == "success" and dict(done)["attempt"] == 1, "a deploy does not count as an attempt"
    assert cluster.query(
        "SELECT node, count(*) FROM executions WHERE run_id = %s AND node = 'one' GROUP BY node", run["run_id"]
    ) == [("one", 1)]
    assert cluster.query("SELECT count(*) FROM side_effects WHERE run_id = %s", run["run_id"]) == [(3,)]


async def test_a_run_whose_workers_keep_dying_ends_as_error_after_max_attempts(cluster: Cluster):
    api = cluster.api("api")
    env = {"KEEL_RUN_MAX_ATTEMPTS": "2"}
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "steps", input={"delay": 3.0, "done": []}, if_not_exists="create")
        for attempt in (1, 2):
            worker = cluster.worker(f"dies-{attempt}", lease="1", extra=env)
            running = await _until(client, thread_id, run["run_id"], {"running"})
            assert dict(running)["attempt"] == attempt
            worker.stop(signal.SIGKILL)
        cluster.worker("judge", lease="1", extra=env)
        ended = await _until(client, thread_id, run["run_id"], {"error", "success"})
        parts = [part async for part in client.runs.join_stream(thread_id, run["run_id"])]
    assert ended["status"] == "error"
    assert "abandoned after 2 attempt(s)" in dict(ended)["error"]
    assert [p.event for p in parts][-2:] == ["error", "end"]
    assert "abandoned after 2 attempt(s)" in parts[-2].data["message"]


async def test_a_run_queued_behind_an_abandoned_one_starts_when_the_sweeper_ends_it(cluster: Cluster):
    api = cluster.api("api")
    env = {"KEEL_RUN_MAX_ATTEMPTS": "1", "KEEL_RUN_POLL": "30"}  # only a wake-up starts the queued run soon
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        first = await client.runs.create(thread_id, "steps", input={"delay": 3.0, "done": []}, if_not_exists="create")
        dies = cluster.worker("dies", lease="1", extra=env)
        await _until(client, thread_id, first["run_id"], {"running"})
        queued = await client.runs.create(thread_id, "steps", input={"delay": 0.0, "done": []})
        dies.stop(signal.SIGKILL)
        cluster.worker("sweeps", lease="1", extra=env)
        assert (await _until(client, thread_id, first["run_id"], {"error"}))["status"] == "error"
        assert (await _until(client, thread_id, queued["run_id"], {"success"}, timeout=10))["status"] == "success"


async def test_a_named_assistant_can_set_a_shorter_run_timeout(cluster: Cluster):
    api = cluster.api("api")
    cluster.worker("worker")
    async with get_client(url=api.base_url) as client:
        quick = await client.assistants.create(graph_id="steps", name="quick", metadata={"run_timeout_s": 0.5})
        thread_id = str(uuid.uuid4())
        parts = [
            part
            async for part in client.runs.stream(
                thread_id, quick["assistant_id"], input={"delay": 2.0, "done": []}, if_not_exists="create"
            )
        ]
        run = await client.runs.get(thread_id, parts[0].data["run_id"])
    assert run["status"] == "timeout"
    assert [p.event for p in parts][-2:] == ["error", "end"]
    assert "timeout" in parts[-2].data["message"]
    assert (await _thread_status(cluster, thread_id)) == "error"


async def _thread_status(cluster: Cluster, thread_id: str) -> str:
    return str(cluster.query("SELECT status FROM keel.threads WHERE thread_id = %s", thread_id)[0][0])


async def test_event_logs_are_purged_after_the_retention_period(database_url: str):
    old, recent = uuid.uuid4(), uuid.uuid4()
    thread = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        await conn.execute("INSERT INTO keel.threads (thread_id) VALUES (%s)", (thread,))
        for run_id, ended in ((old, "now() - interval '25 hours'"), (recent, "now() - interval '1 hour'")):
            await conn.execute(
                f"""INSERT INTO keel.runs (run_id, thread_id, assistant_id, graph_id, status, ended_at)
                    VALUES (%s, %s, 'a', 'g', 'success', {ended})""".encode(),
                (run_id, thread),
            )
            for seq in (1, 2, 3):
                await conn.execute(
                    "INSERT INTO keel.run_events (run_id, seq, event, data) VALUES (%s, %s, 'values', '{}')",
                    (run_id, seq),
                )
        assert await purge_expired_events(conn, retention_h=24) == 3
        left = await (
            await conn.execute("SELECT run_id, count(*) AS n FROM keel.run_events GROUP BY run_id")
        ).fetchall()
    assert left == [{"run_id": recent, "n": 3}]
