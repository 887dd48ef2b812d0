"""Issue 13 §5: `POST /threads/prune` and thread `ttl`, as LangGraph Server's OpenAPI document and its docs
describe them, through the official Python SDK (httpx where the SDK hides the status code)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.compat.test_runs_threads import running_run
from tests.process import KeelProcess

pytestmark = pytest.mark.slow


async def gone(client: LangGraphClient, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


async def test_prune_delete_removes_the_threads_and_stops_their_runs(client: LangGraphClient) -> None:
    idle = await client.threads.create()
    busy = await client.threads.create()
    await running_run(client, busy["thread_id"])
    kept = await client.threads.create()
    answer = await client.threads.prune([idle["thread_id"], busy["thread_id"], str(uuid.uuid4())])
    assert answer == {"pruned_count": 2}  # the unknown id is not counted
    assert await gone(client, idle["thread_id"])
    assert await gone(client, busy["thread_id"])
    assert not await gone(client, kept["thread_id"])


async def test_prune_keep_latest_keeps_the_thread_and_its_latest_state(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    for _ in range(2):
        await client.runs.wait(thread["thread_id"], "echo", input={})
    before = await client.threads.get_state(thread["thread_id"])
    assert len(await client.threads.get_history(thread["thread_id"], limit=100)) > 1
    assert await client.threads.prune([thread["thread_id"]], strategy="keep_latest") == {"pruned_count": 1}
    history = await client.threads.get_history(thread["thread_id"], limit=100)
    assert [state["checkpoint"]["checkpoint_id"] for state in history] == [before["checkpoint"]["checkpoint_id"]]
    assert (await client.threads.get_state(thread["thread_id"]))["values"] == before["values"]


async def test_pruning_no_threads_is_a_no_op(client: LangGraphClient) -> None:
    assert await client.threads.prune([]) == {"pruned_count": 0}


def test_prune_refuses_an_unknown_strategy_or_a_bad_id(compat_server: KeelProcess) -> None:
    url = f"{compat_server.base_url}/threads/prune"
    assert httpx.post(url, json={"thread_ids": [], "strategy": "shred"}).status_code == 422
    assert httpx.post(url, json={"thread_ids": ["not-a-uuid"]}).status_code == 422
