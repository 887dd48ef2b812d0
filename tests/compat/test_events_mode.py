"""Issue 13 §5: the `events` stream mode as LangGraph Server sends it: each `astream_events` (v2) event of the
run as an `events` event, beside the other modes asked for, through the official Python SDK."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

pytestmark = pytest.mark.slow


async def test_events_mode_sends_the_runs_astream_events(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    question: Any = {"messages": [{"role": "user", "content": "who am I?"}]}  # the SDK's input type is narrower
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"],
            "agent",
            input=question,
            context={"user_name": "Ada"},
            stream_mode=["events", "values"],
        )
    ]
    names = [part.event for part in parts]
    assert names[0] == "metadata" and "values" in names
    events = [part.data for part in parts if part.event == "events"]
    assert {"event", "name", "run_id", "data", "tags", "metadata", "parent_ids"} <= set(events[0])
    kinds = {event["event"] for event in events}
    assert {"on_chain_start", "on_chain_end", "on_chat_model_start", "on_tool_start"} <= kinds
    assert any(event["event"] == "on_chain_start" and event["name"] == "agent" for event in events)
    # the run's own chunks feed the modes asked for, never the events
    assert not any(event["event"] == "on_chain_stream" and not event["parent_ids"] for event in events)
    final = [part.data for part in parts if part.event == "values"][-1]
    assert final == (await client.threads.get_state(thread["thread_id"]))["values"]


async def test_events_alone_sends_no_other_mode(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    names = {
        part.event async for part in client.runs.stream(thread["thread_id"], "echo", input={}, stream_mode="events")
    }
    assert names - {"end"} == {"metadata", "events"}
