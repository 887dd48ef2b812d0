"""Worker lifecycle: graceful hand-back on SIGTERM, the attempt limit, run timeouts, event retention."""

from __future__ import annotations

import signal
import uuid
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from psycopg.rows import dict_row

from server.runs.store import purge_expired_events
from tests.server.runs.cluster import Cluster
from tests.waiting import scaled, wait_until_async

pytestmark = pytest.mark.slow
# These tests wait for leases of killed workers to run out: short, but not so short that a live worker starved
# of CPU loses its own.
LEASE = scaled(2)


async def _until(client: LangGraphClient, thread_id: str, run_id: str, wanted: set[str], attempt: int = 0) -> Any:
    """The run once its status is one of `wanted` (and its attempt at least `attempt`)."""

    async def reached() -> Any:
        run: dict[str, Any] = dict(await client.runs.get(thread_id, run_id))
        return run if run["status"] in wanted and int(run["attempt"]) >= attempt else None

    return await wait_until_async(reached, what=f"run {run_id} to reach {wanted} (attempt >= {attempt})")


async def test_sigterm_hands_running_runs_back_and_the_next_worker_finishes_them(cluster: Cluster):
    api = cluster.api("api")
    leaving = cluster.worker("leaving", size=2)
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        run = await client.runs.create(thread_id, "steps", input={"delay": 1.0, "done": []}, if_not_exists="create")
        await _until(client, thread_id, run["run_id"], {"running"})
        await wait_until_async(
            lambda: cluster.query("SELECT 1 FROM side_effects WHERE run_id = %s", run["run_id"]),
            what="the run's first node to finish",
        )
        assert leaving.stop(signal.SIGTERM) == 0
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
            # Each worker is killed once it holds the attempt it was started for (the first, then the retry
            # after the lease ran out); a worker slow enough to lose its own lease may get there by itself.
            worker = cluster.worker(f"dies-{attempt}", lease=LEASE, extra=env)
            await _until(client, thread_id, run["run_id"], {"running"}, attempt=attempt)
            worker.stop(signal.SIGKILL)
        cluster.worker("judge", lease=LEASE, extra=env)
        ended = await _until(client, thread_id, run["run_id"], {"error", "success"})
        parts = [part async for part in client.runs.join_stream(thread_id, run["run_id"])]
    assert ended["status"] == "error"
    assert "abandoned after 2 attempt(s)" in dict(ended)["error"]
    assert [p.event for p in parts][-2:] == ["error", "end"]
    assert "abandoned after 2 attempt(s)" in parts[-2].data["message"]


async def test_a_run_queued_behind_an_abandoned_one_starts_when_the_sweeper_ends_it(cluster: Cluster):
    api = cluster.api("api")
    # No poll within the test's wait: only the sweeper's wake-up can start the queued run.
    env = {"KEEL_RUN_MAX_ATTEMPTS": "1", "KEEL_RUN_POLL": "3600"}
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        first = await client.runs.create(thread_id, "steps", input={"delay": 3.0, "done": []}, if_not_exists="create")
        dies = cluster.worker("dies", lease=LEASE, extra=env)
        await _until(client, thread_id, first["run_id"], {"running"})
        queued = await client.runs.create(thread_id, "steps", input={"delay": 0.0, "done": []})
        dies.stop(signal.SIGKILL)
        cluster.worker("sweeps", lease=LEASE, extra=env)
        assert (await _until(client, thread_id, first["run_id"], {"error"}))["status"] == "error"
        assert (await _until(client, thread_id, queued["run_id"], {"success"}))["status"] == "success"


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
