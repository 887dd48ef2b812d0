"""Two overlapping runs on one thread, for each multitask_strategy; and streaming clients that leave."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import MultitaskStrategy

from tests.process import KeelProcess
from tests.server.runs.cluster import Cluster
from tests.waiting import scaled, wait_until_async

pytestmark = pytest.mark.slow  # keel runs as a child process

SLOW: dict[str, Any] = {"delay": 0.6, "done": []}


async def _status(client: Any, thread_id: str, run_id: str) -> str:
    return str((await client.runs.get(thread_id, run_id))["status"])


async def _until(client: Any, thread_id: str, run_id: str, wanted: set[str]) -> str:
    async def reached() -> str | None:
        status = await _status(client, thread_id, run_id)
        return status if status in wanted else None

    return await wait_until_async(reached, what=f"run {run_id} to reach {wanted}")


def _effects(served: KeelProcess, run_id: str) -> list[str]:
    with psycopg.connect(served.env["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT node FROM side_effects WHERE run_id = %s ORDER BY at", (run_id,)).fetchall()
    return [row[0] for row in rows]


async def _first_running(client: Any) -> tuple[str, str]:
    thread_id = str(uuid.uuid4())
    first = await client.runs.create(thread_id, "steps", input=SLOW, if_not_exists="create")
    await _until(client, thread_id, first["run_id"], {"running"})
    return thread_id, first["run_id"]


async def test_reject_refuses_the_second_run_with_409(served: KeelProcess, client: LangGraphClient):
    thread_id, first = await _first_running(client)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.create(thread_id, "steps", input=SLOW, multitask_strategy="reject")
    assert refused.value.response.status_code == 409
    assert "active run" in refused.value.response.json()["detail"]
    await client.runs.join(thread_id, first)
    assert await _status(client, thread_id, first) == "success"


async def test_enqueue_runs_the_second_after_the_first(served: KeelProcess, client: LangGraphClient):
    thread_id, first = await _first_running(client)
    second = await client.runs.create(thread_id, "steps", input=SLOW, multitask_strategy="enqueue")
    assert second["status"] == "pending"
    await client.runs.join(thread_id, second["run_id"])
    runs = {run["run_id"]: run for run in await client.runs.list(thread_id)}
    assert runs[first]["status"] == runs[second["run_id"]]["status"] == "success"
    assert _effects(served, first) == _effects(served, second["run_id"]) == ["one", "two", "three"]
    with psycopg.connect(served.env["DATABASE_URL"]) as conn:
        ended, started = conn.execute(
            """SELECT (SELECT ended_at FROM keel.runs WHERE run_id = %s),
                      (SELECT started_at FROM keel.runs WHERE run_id = %s)""",
            (first, second["run_id"]),
        ).fetchone()  # type: ignore[misc]
    assert started >= ended, "the queued run starts only after the first has ended"


async def test_interrupt_stops_the_first_and_runs_the_second(served: KeelProcess, client: LangGraphClient):
    thread_id, first = await _first_running(client)
    second = await client.runs.create(thread_id, "steps", input=SLOW, multitask_strategy="interrupt")
    await client.runs.join(thread_id, second["run_id"])
    assert await _status(client, thread_id, first) == "interrupted"
    assert await _status(client, thread_id, second["run_id"]) == "success"
    assert len(_effects(served, first)) < 3, "the interrupted run did not get to finish"


async def test_rollback_deletes_the_first_run(served: KeelProcess, client: LangGraphClient):
    thread_id, first = await _first_running(client)
    second = await client.runs.create(thread_id, "steps", input=SLOW, multitask_strategy="rollback")
    await client.runs.join(thread_id, second["run_id"])
    assert await _status(client, thread_id, second["run_id"]) == "success"
    assert [run["run_id"] for run in await client.runs.list(thread_id)] == [second["run_id"]]
    with psycopg.connect(served.env["DATABASE_URL"]) as conn:
        left = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s AND metadata->>'run_id' = %s", (thread_id, first)
        ).fetchone()
    assert left == (0,), "the rolled-back run's checkpoints are gone"


@pytest.mark.parametrize(("on_disconnect", "expected"), [("cancel", "interrupted"), ("continue", "success")])
async def test_streaming_client_disconnects(
    served: KeelProcess, client: LangGraphClient, on_disconnect: str, expected: str
):
    thread_id = str(uuid.uuid4())
    body = {"assistant_id": "steps", "input": SLOW, "if_not_exists": "create", "on_disconnect": on_disconnect}
    async with (
        httpx.AsyncClient(base_url=served.base_url, timeout=scaled(60)) as http,
        http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response,
    ):
        run_id = response.headers["content-location"].rsplit("/", 1)[-1]
        async for line in response.aiter_lines():
            if line.startswith("event: metadata"):
                break  # leave mid-run
    assert await _until(client, thread_id, run_id, {"interrupted", "success"}) == expected


async def _second_run_after_the_first(cluster: Cluster, strategy: MultitaskStrategy) -> tuple[str, str, str]:
    """A second run on a thread whose first run is running, created with `strategy` and joined: the first's id,
    the second's id and its final status.
    Polling every 30 s: only the worker that ends (or rolls back) the first run can start the second promptly."""
    keel = cluster.serve("keel", KEEL_RUN_POLL="30")
    async with get_client(url=keel.base_url) as client:
        thread_id, first = await _first_running(client)
        second = await client.runs.create(thread_id, "steps", input=SLOW, multitask_strategy=strategy)
        await asyncio.wait_for(client.runs.join(thread_id, second["run_id"]), timeout=scaled(60))
        status = await _status(client, thread_id, second["run_id"])
    return first, second["run_id"], status


def _seconds(cluster: Cluster, query: str, *params: Any) -> float:
    [(value,)] = cluster.query(query, *params)
    return float(value)


async def test_an_enqueued_run_starts_as_soon_as_the_one_before_it_ends(cluster: Cluster):
    first, second, _ = await _second_run_after_the_first(cluster, "enqueue")
    gap = _seconds(
        cluster,
        """SELECT extract(epoch FROM (SELECT started_at FROM keel.runs WHERE run_id = %s)
                                   - (SELECT ended_at FROM keel.runs WHERE run_id = %s))""",
        second,
        first,
    )
    assert 0 <= gap < 2, f"the queued run started {gap:.2f} s after the first ended"


async def test_a_run_that_rolls_back_the_one_before_it_starts_as_soon_as_that_one_is_gone(cluster: Cluster):
    _, second, status = await _second_run_after_the_first(cluster, "rollback")
    assert status == "success"
    waited = _seconds(
        cluster, "SELECT extract(epoch FROM started_at - created_at) FROM keel.runs WHERE run_id = %s", second
    )
    assert waited < 5, f"the second run waited {waited:.2f} s to start"
