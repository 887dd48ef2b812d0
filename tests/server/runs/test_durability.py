"""Runs outlive processes: worker crashes, several API and worker processes, an API restart mid-stream."""

from __future__ import annotations

import signal
import uuid
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.server.runs.cluster import Cluster
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow


async def _wait_all_ended(cluster: Cluster, run_ids: list[str]) -> None:
    def ended() -> bool:
        rows = cluster.query(
            "SELECT count(*) FROM keel.runs WHERE run_id = ANY(%s::uuid[]) AND status IN ('pending', 'running')",
            run_ids,
        )
        return bool(rows[0][0] == 0)

    await wait_until_async(ended, what="every run to end", interval=0.2)


async def test_runs_survive_a_worker_killed_mid_way(cluster: Cluster):
    api = cluster.api("api")
    doomed = cluster.worker("doomed")
    async with get_client(url=api.base_url) as client:
        runs = [
            await client.runs.create(
                str(uuid.uuid4()), "steps", input={"delay": 0.3, "done": []}, if_not_exists="create"
            )
            for _ in range(20)
        ]
        run_ids = [run["run_id"] for run in runs]
        # Kill once some nodes have finished and others are in flight.
        await wait_until_async(
            lambda: cluster.query("SELECT count(*) FROM side_effects")[0][0] >= 8,
            what="8 nodes to finish",
            interval=0.02,
        )
        doomed.stop(signal.SIGKILL)
        killed_at = cluster.query("SELECT clock_timestamp()")[0][0]
        # A node whose side effect committed well before the kill had also checkpointed its result (the
        # write follows within milliseconds); one that committed just before the kill may rightly run again.
        finished_before_kill = cluster.query(
            "SELECT run_id, node FROM side_effects WHERE at < %s - interval '250 milliseconds'", killed_at
        )
        assert finished_before_kill, "some nodes must have finished before the kill"
        in_flight = cluster.query("SELECT count(*) FROM keel.runs WHERE status = 'running'")[0][0]
        assert in_flight > 0, "the kill must land while runs are running"

        cluster.worker("successor")
        await _wait_all_ended(cluster, run_ids)
        statuses = {
            run_id: (await client.runs.get(run["thread_id"], run_id))["status"]
            for run, run_id in zip(runs, run_ids, strict=True)
        }
    assert set(statuses.values()) == {"success"}
    effects = cluster.query("SELECT run_id, count(*) FROM side_effects GROUP BY run_id")
    assert sorted(count for _, count in effects) == [3] * 20, "every node's side effect exists exactly once"
    # A node that had finished before the kill was not executed again by the retry.
    for run_id, node in finished_before_kill:
        executions = cluster.query("SELECT count(*) FROM executions WHERE run_id = %s AND node = %s", run_id, node)
        assert executions == [(1,)], f"{node} of run {run_id} ran again after the crash"
    attempts = dict(
        cluster.query("SELECT run_id::text, attempt FROM keel.runs WHERE run_id = ANY(%s::uuid[])", run_ids)
    )
    assert max(attempts.values()) == 2 and min(attempts.values()) == 1, "the killed runs were retried once"


async def test_a_run_created_on_one_api_streams_live_from_another(cluster: Cluster):
    first, second = cluster.api("api-1"), cluster.api("api-2")
    cluster.worker("worker-1", size=2)
    cluster.worker("worker-2", size=2)
    async with get_client(url=first.base_url) as one, get_client(url=second.base_url) as two:
        thread_id = str(uuid.uuid4())
        run = await one.runs.create(
            thread_id, "steps", input={"delay": 0.4, "done": []}, stream_mode=["updates"], if_not_exists="create"
        )
        seen: list[Any] = []
        async for part in two.runs.join_stream(thread_id, run["run_id"]):
            if not seen:
                assert (await two.runs.get(thread_id, run["run_id"]))["status"] in ("pending", "running")
            seen.append(part)
    assert [part.event for part in seen] == ["metadata", "updates", "updates", "updates", "end"]
    assert [int(part.id) for part in seen if part.id] == [1, 2, 3, 4, 5]
    assert seen[-1].data["status"] == "success"


async def test_stream_survives_an_api_restart_with_no_duplicate_and_no_gap(cluster: Cluster):
    api = cluster.api("api-before")
    port = api.port
    cluster.worker("worker")
    async with get_client(url=api.base_url) as client:
        thread_id = str(uuid.uuid4())
        parts = []
        restarted = None
        stream = client.runs.stream(
            thread_id, "steps", input={"delay": 0.7, "done": []}, stream_mode=["updates"], if_not_exists="create"
        )
        async for part in stream:
            parts.append(part)
            if part.event == "updates" and restarted is None:
                api.stop(signal.SIGKILL)
                restarted = cluster.api("api-after", port=port)
    assert restarted is not None
    ids = [int(part.id) for part in parts if part.id is not None]
    assert ids == list(range(1, len(ids) + 1)), f"sequence numbers with a gap or a duplicate: {ids}"
    assert [part.event for part in parts] == ["metadata", "updates", "updates", "updates", "end"]
    assert parts[-1].data["status"] == "success"
