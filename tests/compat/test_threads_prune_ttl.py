"""Issue 13 §5: `POST /threads/prune` and thread `ttl`, as LangGraph Server's OpenAPI document and its docs
describe them, through the official Python SDK (httpx where the SDK hides the status code)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.compat.conftest import eventually
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


async def test_a_thread_past_its_ttl_is_swept(client: LangGraphClient) -> None:
    thread = await client.threads.create(ttl={"strategy": "delete", "ttl": 0.001})  # 60 ms
    await eventually(lambda: gone(client, thread["thread_id"]), "the expired thread to be swept", timeout=60)


async def test_the_ttl_is_shown_with_include_ttl(client: LangGraphClient, compat_server: KeelProcess) -> None:
    thread = await client.threads.create(ttl=60)  # the SDK's shorthand: minutes, strategy delete
    url = f"{compat_server.base_url}/threads/{thread['thread_id']}"
    ttl = httpx.get(url, params={"include": "ttl"}).json()["ttl"]
    assert ttl["strategy"] == "delete"
    assert ttl["ttl_minutes"] == 60
    assert ttl["expires_at"]
    await client.threads.update(thread["thread_id"], metadata={}, ttl={"strategy": "delete", "ttl": 5})
    assert httpx.get(url, params={"include": "ttl"}).json()["ttl"]["ttl_minutes"] == 5
    untimed = await client.threads.create()
    assert httpx.get(f"{compat_server.base_url}/threads/{untimed['thread_id']}?include=ttl").json()["ttl"] is None


async def test_an_expired_thread_with_an_active_run_is_not_deleted_mid_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = await running_run(client, thread["thread_id"])
    await client.threads.update(thread["thread_id"], metadata={}, ttl={"strategy": "delete", "ttl": 0.001})
    sentinel = await client.threads.create(ttl={"strategy": "delete", "ttl": 0.001})
    await eventually(lambda: gone(client, sentinel["thread_id"]), "a sweep to pass", timeout=60)
    assert (await client.runs.get(thread["thread_id"], run_id))["status"] == "running"
    await client.runs.cancel(thread["thread_id"], run_id, wait=True)
    await eventually(lambda: gone(client, thread["thread_id"]), "the thread to be swept once its run ended", timeout=60)


def test_a_ttl_too_long_to_store_or_with_keep_latest_is_refused(compat_server: KeelProcess) -> None:
    url = f"{compat_server.base_url}/threads"
    assert httpx.post(url, json={"ttl": {"ttl": 1e16}}).status_code == 422
    assert httpx.post(url, json={"ttl": {"strategy": "keep_latest", "ttl": 5}}).status_code == 422  # not in keel yet
