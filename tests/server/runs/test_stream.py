"""Runs through the official langgraph-sdk client: streaming, background, join, resume, wait, errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

from tests.process import KeelProcess
from tests.server.runs.serving import human
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow  # keel runs as a child process


async def collect(parts: Any) -> list[StreamPart]:
    return [part async for part in parts]


async def test_stream_sends_metadata_first_then_modes_then_end(served: KeelProcess, client: LangGraphClient):
    thread_id = str(uuid.uuid4())
    parts = await collect(
        client.runs.stream(
            thread_id,
            "echo",
            input=human("hello there"),
            stream_mode=["updates", "messages-tuple", "values"],
            if_not_exists="create",
        )
    )
    events = [part.event for part in parts]
    assert events[0] == "metadata" and events[-1] == "end"
    assert parts[0].data["thread_id"] == thread_id and parts[0].data["attempt"] == 1
    assert {"updates", "messages", "values"} <= set(events)
    tokens = "".join(part.data[0]["content"] for part in parts if part.event == "messages")
    assert tokens == "you said hello there and that is all"
    assert [p.data for p in parts if p.event == "updates"][-1] == {"finish": {"finished": True}}
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["finished"] is True and final["messages"][-1]["content"] == tokens
    assert parts[-1].data["status"] == "success"


async def test_background_run_join_and_status(served: KeelProcess, client: LangGraphClient):
    thread_id = str(uuid.uuid4())
    run = await client.runs.create(thread_id, "echo", input=human("hi"), if_not_exists="create")
    assert run["status"] in ("pending", "running", "success")
    values = await client.runs.join(thread_id, run["run_id"])
    assert values["messages"][-1]["content"] == "you said hi and that is all"
    done = await client.runs.get(thread_id, run["run_id"])
    assert done["status"] == "success"
    listed = await client.runs.list(thread_id)
    assert [r["run_id"] for r in listed] == [run["run_id"]]


async def test_interrupt_then_resume_with_command(served: KeelProcess, client: LangGraphClient):
    thread_id = str(uuid.uuid4())
    first = await client.runs.wait(thread_id, "ask", input={"question": "ship it?"}, if_not_exists="create")
    assert isinstance(first, dict)
    assert first["__interrupt__"][0]["value"] == {"question": "ship it?"}
    runs = await client.runs.list(thread_id)
    assert runs[0]["status"] == "interrupted"
    parts = await collect(client.runs.stream(thread_id, "ask", command={"resume": "yes"}, stream_mode="values"))
    assert parts[-2].data == {"question": "ship it?", "answer": "answer: yes"}
    assert parts[-1].data["status"] == "success"


async def test_join_stream_replays_everything_and_resumes_after_last_event_id(
    served: KeelProcess, client: LangGraphClient
):
    thread_id = str(uuid.uuid4())
    live = await collect(
        client.runs.stream(
            thread_id,
            "echo",
            input=human("again"),
            stream_mode=["messages-tuple", "values"],
            if_not_exists="create",
        )
    )
    run_id = live[0].data["run_id"]
    replay = await collect(client.runs.join_stream(thread_id, run_id))
    assert [(p.event, p.data) for p in replay] == [(p.event, p.data) for p in live]

    async with httpx.AsyncClient(base_url=served.base_url) as http:
        ids = await _event_ids(http, thread_id, run_id, None)
        assert ids == list(range(1, len(live) + 1)), "ids are the run's sequence numbers, no gap"
        for cut in (1, 3, len(live) - 1):
            assert await _event_ids(http, thread_id, run_id, str(cut)) == list(range(cut + 1, len(live) + 1))


async def _event_ids(http: httpx.AsyncClient, thread_id: str, run_id: str, last: str | None) -> list[int]:
    headers = {"Last-Event-ID": last} if last else {}
    ids = []
    async with http.stream("GET", f"/threads/{thread_id}/runs/{run_id}/stream", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                ids.append(int(line.removeprefix("id:").strip()))
    return ids


async def test_stateless_wait_and_bad_requests(served: KeelProcess, client: LangGraphClient):
    values = await client.runs.wait(None, "echo", input=human("x"))
    assert isinstance(values, dict)
    assert values["messages"][-1]["content"] == "you said x and that is all"
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        missing = await http.post(f"/threads/{uuid.uuid4()}/runs", json={"assistant_id": "echo"})
        assert missing.status_code == 404 and "not found" in missing.json()["detail"]
        unknown = await http.post("/runs", json={"assistant_id": "nope"})
        assert unknown.status_code == 404 and "echo" in unknown.json()["detail"]
        bad_mode = await http.post("/runs", json={"assistant_id": "echo", "stream_mode": ["tokens"]})
        assert bad_mode.status_code == 422 and "stream_mode" in bad_mode.json()["message"]
        # As on LangGraph Server: the command wins over input (here: a resume of a new thread, with nothing
        # pending), and a field keel does not know is ignored; a wrong value of a known one is not.
        both = await http.post("/runs", json={"assistant_id": "echo", "input": {}, "command": {"resume": 1}})
        assert both.status_code == 409 and "no pending interrupt" in both.json()["detail"]
        unknown_field = await http.post("/runs", json={"assistant_id": "echo", "stream_modes": ["values"]})
        assert unknown_field.status_code == 200, unknown_field.text


@pytest.mark.parametrize("action", ["interrupt", "rollback"])
async def test_cancel_a_running_run(served: KeelProcess, client: LangGraphClient, action: str):
    thread_id = str(uuid.uuid4())
    run = await client.runs.create(thread_id, "steps", input={"delay": 1.0, "done": []}, if_not_exists="create")
    await _wait_status(client, thread_id, run["run_id"], "running")
    await client.runs.cancel(thread_id, run["run_id"], action=action, wait=True)  # type: ignore[arg-type]
    if action == "interrupt":
        assert (await client.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
    else:
        with pytest.raises(httpx.HTTPStatusError) as gone:
            await client.runs.get(thread_id, run["run_id"])
        assert gone.value.response.status_code == 404
    assert (await client.threads.get(thread_id))["status"] in ("idle", "interrupted")


async def _wait_status(client: Any, thread_id: str, run_id: str, status: str) -> None:
    async def reached() -> bool:
        return bool((await client.runs.get(thread_id, run_id))["status"] == status)

    await wait_until_async(reached, what=f"run {run_id} to reach {status}")
