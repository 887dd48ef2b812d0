"""Issue 13 §3 (run and thread semantics), §4 (`/runs/wait`) and the cheap part of §5, as LangGraph Server
documents them, through the official Python SDK (httpx where the SDK hides the wire: status codes, headers,
the raw body)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.compat.conftest import eventually
from tests.process import KeelProcess

pytestmark = pytest.mark.slow

LONG: dict[str, Any] = {"seconds": 60}  # a run that stays running until it is cancelled


async def running_run(client: LangGraphClient, thread_id: str, assistant_id: str = "slow") -> str:
    run = await client.runs.create(thread_id, assistant_id, input=LONG)

    async def started() -> bool:
        return (await client.runs.get(thread_id, run["run_id"]))["status"] == "running"

    await eventually(started, "the run to start")
    return run["run_id"]


async def ended(client: LangGraphClient, thread_id: str, run_id: str) -> bool:
    try:
        run = await client.runs.get(thread_id, run_id)
    except NotFoundError:
        return True
    return run["status"] not in ("pending", "running")


async def test_cancelling_a_run_that_ended_is_an_accepted_no_op(
    client: LangGraphClient, compat_server: KeelProcess
) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input={})
    await client.runs.join(thread["thread_id"], run["run_id"])
    cancel = httpx.post(f"{compat_server.base_url}/threads/{thread['thread_id']}/runs/{run['run_id']}/cancel")
    assert cancel.status_code == 202, cancel.text
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_cancel_with_wait_returns_once_the_run_has_ended(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    await client.runs.cancel(thread["thread_id"], run_id, wait=True)
    assert (await client.runs.get(thread["thread_id"], run_id))["status"] == "interrupted"


async def test_deleting_a_thread_with_an_active_run_cancels_it_and_deletes(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    await running_run(client, thread["thread_id"])
    await client.threads.delete(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await client.threads.get(thread["thread_id"])


async def test_deleting_an_assistant_interrupts_its_runs(client: LangGraphClient) -> None:
    assistant = await client.assistants.create("slow", name=f"doomed-{uuid.uuid4()}")
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"], assistant["assistant_id"])
    await client.assistants.delete(assistant["assistant_id"])
    await eventually(lambda: ended(client, thread["thread_id"], run_id), "the run to end", timeout=5)


async def test_input_sent_with_a_command_is_ignored(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "approval", input={"request": "deploy"})
    values = await client.runs.wait(
        thread["thread_id"], "approval", input={"request": "ignored"}, command={"resume": "yes"}
    )
    assert values == {"request": "deploy", "decision": "yes", "outcome": "done"}


def test_unknown_request_fields_are_ignored(compat_server: KeelProcess) -> None:
    body = {"assistant_id": "echo", "input": {}, "a_field_from_a_newer_client": True}
    answer = httpx.post(f"{compat_server.base_url}/runs/wait", json=body, timeout=30)
    assert answer.status_code == 200, answer.text


def test_a_typo_in_a_known_field_is_still_refused(compat_server: KeelProcess) -> None:
    body = {"assistant_id": "echo", "input": {}, "stream_mode": "valuez"}
    assert httpx.post(f"{compat_server.base_url}/runs/wait", json=body, timeout=30).status_code == 422


async def test_join_stream_honours_stream_mode(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], "slow", input={"seconds": 0.5}, stream_mode=["values", "updates"], stream_resumable=True
    )
    events = {
        part.event async for part in client.runs.join_stream(thread["thread_id"], run["run_id"], stream_mode="updates")
    }
    assert "updates" in events
    assert "values" not in events


async def test_join_stream_cancels_the_run_when_asked_and_the_client_leaves(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    stream = client.runs.join_stream(thread["thread_id"], run_id, cancel_on_disconnect=True)
    async for _ in stream:
        break  # the first event (metadata) proves the stream is attached; then leave
    await stream.aclose()  # type: ignore[attr-defined]
    await eventually(lambda: ended(client, thread["thread_id"], run_id), "the run to be cancelled")
    assert (await client.runs.get(thread["thread_id"], run_id))["status"] == "interrupted"


async def test_get_thread_honours_include(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    assert "ttl" in await client.threads.get(thread["thread_id"], include=["ttl"])


async def test_runs_list_honours_select(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input={})
    runs = await client.runs.list(thread["thread_id"], select=["run_id", "status"])
    assert [set(run) for run in runs] == [{"run_id", "status"}]


async def test_a_thread_created_by_a_run_carries_its_assistant_and_graph(client: LangGraphClient) -> None:
    thread_id = str(uuid.uuid4())
    await client.runs.wait(thread_id, "echo", input={}, if_not_exists="create")
    metadata = (await client.threads.get(thread_id))["metadata"] or {}
    assert metadata["graph_id"] == "echo"
    assert (await client.assistants.get(metadata["assistant_id"]))["graph_id"] == "echo"


def test_runs_wait_names_the_run_in_its_headers(compat_server: KeelProcess) -> None:
    thread_id = httpx.post(f"{compat_server.base_url}/threads", json={}).json()["thread_id"]
    answer = httpx.post(
        f"{compat_server.base_url}/threads/{thread_id}/runs/wait", json={"assistant_id": "echo", "input": {}}
    )
    assert answer.status_code == 200, answer.text
    location, content_location = answer.headers.get("location", ""), answer.headers.get("content-location", "")
    assert content_location.startswith(f"/threads/{thread_id}/runs/")
    assert location == f"{content_location}/join"


def test_runs_wait_sends_a_keepalive_newline_while_it_waits(compat_server: KeelProcess) -> None:
    thread_id = httpx.post(f"{compat_server.base_url}/threads", json={}).json()["thread_id"]
    url = f"{compat_server.base_url}/threads/{thread_id}/runs/wait"
    with httpx.stream("POST", url, json={"assistant_id": "slow", "input": {"seconds": 6}}, timeout=30) as answer:
        body = answer.read()
    assert answer.status_code == 200
    assert body.startswith(b"\n"), body[:40]
    assert json.loads(body)["done"] is True


def test_info_describes_the_server(compat_server: KeelProcess) -> None:
    answer = httpx.get(f"{compat_server.base_url}/info")
    assert answer.status_code == 200
    assert isinstance(answer.json(), dict)


def test_ok_with_check_db_answers_ok(compat_server: KeelProcess) -> None:
    answer = httpx.get(f"{compat_server.base_url}/ok", params={"check_db": 1})
    assert answer.status_code == 200
    assert answer.json()["ok"] is True


async def test_runs_cancel_many_cancels_a_threads_runs(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    await client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[run_id])
    await eventually(lambda: ended(client, thread["thread_id"], run_id), "the run to be cancelled")
