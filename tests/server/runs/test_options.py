"""Run options through the SDK: every stream mode, interrupt_before/after, and thread status on the way."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.process import KeelProcess
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow  # keel runs as a child process


async def test_every_stream_mode_produces_its_events(served: KeelProcess, client: LangGraphClient):
    modes = ["values", "updates", "messages-tuple", "custom", "debug", "tasks", "checkpoints"]
    parts = [
        part
        async for part in client.runs.stream(
            None,
            "echo",
            input=human("modes"),
            stream_mode=modes,  # type: ignore[arg-type]  # SDK Literal list
        )
    ]
    events = {part.event for part in parts}
    assert {"metadata", "values", "updates", "messages", "custom", "debug", "tasks", "checkpoints", "end"} <= events
    assert [p.data for p in parts if p.event == "custom"] == [{"progress": "finishing"}]
    task_names = {p.data.get("name") for p in parts if p.event == "tasks"}
    assert {"model", "finish"} <= task_names
    assert all("config" in p.data or "checkpoint" in p.data or p.data for p in parts if p.event == "checkpoints")


async def test_legacy_messages_mode_sends_partial_messages(served: KeelProcess, client: LangGraphClient):
    parts = [part async for part in client.runs.stream(None, "echo", input=human("hi"), stream_mode="messages")]
    partial = [p.data for p in parts if p.event == "messages/partial"]
    assert partial and partial[-1][0]["content"] == "you said hi and that is all"
    assert len(partial) > 3, "each token extends the message so far"
    assert any(p.event == "messages/metadata" for p in parts)


async def test_interrupt_before_and_after_stop_the_run_and_a_new_run_continues(
    served: KeelProcess, client: LangGraphClient
):
    thread_id = str(uuid.uuid4())
    first = await client.runs.wait(
        thread_id, "echo", input=human("pause"), interrupt_before=["finish"], if_not_exists="create"
    )
    assert isinstance(first, dict) and "finished" not in first
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["finish"]
    assert (await client.threads.get(thread_id))["status"] == "interrupted"
    runs = await client.runs.list(thread_id)
    assert runs[0]["status"] == "interrupted"

    second = await client.runs.wait(thread_id, "echo", input=None)
    assert isinstance(second, dict) and second["finished"] is True
    assert (await client.threads.get(thread_id))["status"] == "idle"

    third = await client.runs.wait(thread_id, "echo", input=human("again"), interrupt_after=["model"])
    assert isinstance(third, dict) and third["messages"][-1]["content"] == "you said again and that is all"
    assert (await client.threads.get_state(thread_id))["next"] == ["finish"]


async def test_thread_is_busy_while_a_run_is_active(served: KeelProcess, client: LangGraphClient):
    thread_id = str(uuid.uuid4())
    run = await client.runs.create(thread_id, "steps", input={"delay": 0.5, "done": []}, if_not_exists="create")
    assert (await client.threads.get(thread_id))["status"] == "busy"
    await client.runs.join(thread_id, run["run_id"])
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_deleting_a_thread_with_an_active_run_stops_the_run_first(served: KeelProcess, client: LangGraphClient):
    """As on LangGraph Server, the delete interrupts the thread's run; keel waits for it to end, so that its
    worker writes no checkpoint for the thread once it is gone."""
    thread_id = str(uuid.uuid4())
    await client.runs.create(thread_id, "steps", input={"delay": 0.5, "done": []}, if_not_exists="create")
    await client.threads.delete(thread_id)
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await client.threads.get(thread_id)
    assert gone.value.response.status_code == 404
    # Outlast what the deleted run would have taken to finish (a run of its own, joined), then look.
    other = str(uuid.uuid4())
    later = await client.runs.create(other, "steps", input={"delay": 0.6, "done": []}, if_not_exists="create")
    await client.runs.join(other, later["run_id"])
    with psycopg.connect(served.env["DATABASE_URL"]) as conn:
        left = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)).fetchone()
    assert left == (0,), "the deleted thread's run went on writing checkpoints"
