"""Issue 13 §5 (the cheap part): operations of LangGraph Server's OpenAPI document keel now serves, as that
document and LangGraph Server describe them, through the official Python SDK (httpx where it has no call)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

from tests.compat.conftest import eventually
from tests.compat.test_runs_threads import ended, running_run
from tests.process import KeelProcess

pytestmark = pytest.mark.slow


async def test_a_batch_of_stateless_runs_is_created_in_order(client: LangGraphClient) -> None:
    payloads: list[Any] = [{"assistant_id": "echo", "input": {}}, {"assistant_id": "slow", "input": {"seconds": 0}}]
    runs = await client.runs.create_batch(payloads)  # the SDK's TypedDict marks optional fields required
    assert [run["assistant_id"] for run in runs] == [
        (await client.assistants.get(graph))["assistant_id"] for graph in ("echo", "slow")
    ]
    for run in runs:
        await client.runs.join(run["thread_id"], run["run_id"])
        assert (await client.runs.get(run["thread_id"], run["run_id"]))["status"] == "success"


def test_an_empty_batch_is_refused(compat_server: KeelProcess) -> None:
    assert httpx.post(f"{compat_server.base_url}/runs/batch", json=[]).status_code == 422


async def test_runs_cancel_by_status_cancels_running_runs(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    await client.runs.cancel_many(status="running")
    await eventually(lambda: ended(client, thread["thread_id"], run_id), "the run to be cancelled")
    assert (await client.runs.get(thread["thread_id"], run_id))["status"] == "interrupted"


def test_runs_cancel_takes_status_or_runs_not_both(compat_server: KeelProcess) -> None:
    both = {"status": "all", "thread_id": str(uuid.uuid4()), "run_ids": [str(uuid.uuid4())]}
    assert httpx.post(f"{compat_server.base_url}/runs/cancel", json=both).status_code == 422
    unknown = {"thread_id": str(uuid.uuid4()), "run_ids": [str(uuid.uuid4())]}
    assert httpx.post(f"{compat_server.base_url}/runs/cancel", json=unknown).status_code == 404


async def test_cancel_with_wait_answers_the_final_values(client: LangGraphClient, compat_server: KeelProcess) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    url = f"{compat_server.base_url}/threads/{thread['thread_id']}/runs/{run_id}/cancel"
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(url, params={"wait": 1})
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json(), dict)
    assert answer.headers["location"] == f"/threads/{thread['thread_id']}/runs/{run_id}/join"


def test_stateless_wait_names_its_run(compat_server: KeelProcess) -> None:
    answer = httpx.post(f"{compat_server.base_url}/runs/wait", json={"assistant_id": "echo", "input": {}}, timeout=30)
    assert answer.status_code == 200, answer.text
    content_location = answer.headers["content-location"]
    assert content_location.startswith("/threads/") and "/runs/" in content_location
    assert answer.headers["location"] == f"{content_location}/join"


async def _collect(stream: Any, ends: int) -> list[StreamPart]:
    parts: list[StreamPart] = []
    async for part in stream:
        parts.append(part)
        if sum(p.event == "end" for p in parts) == ends:
            break
    return parts


async def test_the_thread_stream_follows_the_threads_runs_one_after_the_other(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    stream = await client.threads.join_stream(thread["thread_id"])
    collecting = asyncio.create_task(_collect(stream, ends=2))
    first = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 0.2})
    await client.runs.join(thread["thread_id"], first["run_id"])
    second = await client.runs.create(thread["thread_id"], "echo", input={})
    parts = await asyncio.wait_for(collecting, timeout=30)  # a guard: the second `end` is the condition
    run_ids = [part.data["run_id"] for part in parts if part.event == "metadata"]
    assert run_ids == [first["run_id"], second["run_id"]]
    assert any(part.event == "values" for part in parts)


async def test_the_thread_stream_in_lifecycle_mode_sends_only_starts_and_ends(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input={})
    stream = await client.threads.join_stream(thread["thread_id"], stream_mode="lifecycle", last_event_id="-")
    parts = await asyncio.wait_for(_collect(stream, ends=1), timeout=30)
    assert [part.event for part in parts] == ["metadata", "end"]


async def test_thread_storage_counts_the_threads_checkpoints(
    client: LangGraphClient, compat_server: KeelProcess
) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input={})
    answer = httpx.get(f"{compat_server.base_url}/threads/{thread['thread_id']}/storage")
    assert answer.status_code == 200, answer.text
    storage = answer.json()
    assert storage["thread_id"] == thread["thread_id"]
    assert storage["checkpoints"]["count"] > 0
    assert "configured" in storage["channel_values"]["by_channel"]
    sections = ("checkpoints", "channel_values", "pending_writes")
    assert storage["total_bytes"] == sum(storage[section]["bytes"] for section in sections)
    assert httpx.get(f"{compat_server.base_url}/threads/{uuid.uuid4()}/storage").status_code == 404


async def test_a_runs_list_select_of_an_unknown_field_is_refused(
    client: LangGraphClient, compat_server: KeelProcess
) -> None:
    thread = await client.threads.create()
    url = f"{compat_server.base_url}/threads/{thread['thread_id']}/runs"
    assert httpx.get(url, params={"select": "no_such_field"}).status_code == 422


def test_info_has_langgraph_servers_shape(compat_server: KeelProcess) -> None:
    info = httpx.get(f"{compat_server.base_url}/info").json()
    assert {"version", "langgraph_py_version", "flags", "metadata"} <= set(info)
    assert info["flags"]["assistants"] is True
