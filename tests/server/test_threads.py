"""Threads through the official SDK: CRUD, search, copy, delete, state, history, state updates."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError

from server.graph_loading import LoadedGraphs
from tests.server.api_graphs import GRAPHS
from tests.server.conftest import KeelServer, checkpoint_rows, graphs_on, write_graphs

pytestmark = pytest.mark.slow  # keel runs as a child process

SOURCE = (Path(__file__).parent / "api_graphs.py").read_text()


@pytest.fixture
async def keel(
    keel_server: Callable[..., KeelServer], tmp_path: Path
) -> AsyncIterator[tuple[KeelServer, LoadedGraphs]]:
    """A server, and the same graphs in-process on the same database (to make checkpoints without runs)."""
    config = write_graphs(tmp_path, SOURCE, GRAPHS)
    server = keel_server(config)
    async with graphs_on(server.database_url, config) as graphs:
        yield server, graphs


@pytest.fixture
async def client(keel: tuple[KeelServer, LoadedGraphs]) -> AsyncIterator[Any]:
    """The SDK client, typed `Any` here: its `ThreadState` unions (values: list | dict, checkpoint | None)
    would make every JSON lookup below a type error."""
    client = get_client(url=keel[0].url)
    yield client
    await client.aclose()


def cfg(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


async def test_create_get_patch_and_if_exists(client: Any):
    thread = await client.threads.create(metadata={"owner": "ana"})
    assert thread["status"] == "idle"
    assert thread["metadata"] == {"owner": "ana"}
    assert (thread["values"], thread["interrupts"]) == (None, {})
    assert (await client.threads.get(thread["thread_id"]))["created_at"] == thread["created_at"]

    with pytest.raises(ConflictError) as conflict:
        await client.threads.create(thread_id=thread["thread_id"])
    assert conflict.value.body == {"detail": f"thread {thread['thread_id']} already exists"}
    same = await client.threads.create(thread_id=thread["thread_id"], if_exists="do_nothing", metadata={"x": 1})
    assert same["metadata"] == {"owner": "ana"}

    patched = await client.threads.update(thread["thread_id"], metadata={"team": "red", "owner": "bo"})
    assert patched["metadata"] == {"owner": "bo", "team": "red"}
    assert patched["updated_at"] > thread["updated_at"]
    assert await client.threads.update(thread["thread_id"], metadata={"a": 1}, return_minimal=True) is None

    chosen = str(uuid.uuid4())
    assert (await client.threads.create(thread_id=chosen, graph_id="chat"))["metadata"] == {"graph_id": "chat"}


async def test_errors_are_json_with_detail(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    missing = str(uuid.uuid4())
    for call in (client.threads.get, client.threads.delete, client.threads.copy, client.threads.get_state):
        with pytest.raises(NotFoundError) as caught:
            await call(missing)
        assert caught.value.body == {"detail": f"thread {missing} not found"}
    with pytest.raises(UnprocessableEntityError) as invalid:
        await client.threads.search(limit=0)
    body = invalid.value.body
    assert isinstance(body, dict) and body["detail"][0]["loc"] == ["body", "limit"]
    assert body["message"].startswith("invalid request: body.limit: ")
    async with httpx.AsyncClient(base_url=keel[0].url) as http:
        malformed = await http.get("/threads/not-a-uuid")
        unsupported = await http.post("/threads", json={"supersteps": [{"updates": []}]})
    assert malformed.status_code == 422 and "detail" in malformed.json()
    assert unsupported.status_code == 400
    assert unsupported.json() == {"detail": "supersteps is not supported by keel yet"}


async def test_search_and_count(client: Any):
    ids = [(await client.threads.create(metadata={"suite": "search", "n": n}))["thread_id"] for n in range(3)]
    await client.threads.create(metadata={"suite": "other"})
    found = await client.threads.search(metadata={"suite": "search"}, sort_by="created_at", sort_order="asc")
    assert [t["thread_id"] for t in found] == ids
    page = await client.threads.search(metadata={"suite": "search"}, limit=1, offset=1, sort_order="asc")
    assert [t["thread_id"] for t in page] == ids[1:2]
    assert await client.threads.search(metadata={"suite": "search"}, status="busy") == []
    assert len(await client.threads.search(ids=ids[:2])) == 2
    slim = await client.threads.search(metadata={"n": 2}, select=["thread_id", "status"])
    assert slim == [{"thread_id": ids[2], "status": "idle"}]
    assert await client.threads.count(metadata={"suite": "search"}) == 3
    assert await client.threads.count(status="idle") == 4


async def test_state_of_a_thread_that_never_ran_is_empty(client: Any):
    thread = await client.threads.create()
    state = await client.threads.get_state(thread["thread_id"])
    assert state == {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": {
            "thread_id": thread["thread_id"],
            "checkpoint_ns": "",
            "checkpoint_id": None,
            "checkpoint_map": None,
        },
        "parent_checkpoint": None,
        "interrupts": [],
    }
    assert await client.threads.get_history(thread["thread_id"]) == []
    with pytest.raises(BadRequestError, match="has no graph yet"):
        await client.threads.update_state(thread["thread_id"], {"steps": ["x"]})


async def test_state_and_history_after_a_run(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    thread_id = (await client.threads.create(graph_id="chat"))["thread_id"]
    await keel[1]["chat"].ainvoke({"messages": [{"type": "human", "content": "hi", "id": "h-1"}]}, cfg(thread_id))

    state = await client.threads.get_state(thread_id)
    messages = state["values"]["messages"]
    assert [(m["type"], m["content"], m["id"]) for m in messages] == [("human", "hi", "h-1"), ("ai", "hello", "ai-1")]
    assert state["values"]["steps"] == ["greet", "finish"]
    assert (state["next"], state["tasks"], state["interrupts"]) == ([], [], [])
    assert state["checkpoint"]["thread_id"] == thread_id and state["checkpoint"]["checkpoint_id"]
    assert state["metadata"]["step"] == 2 and state["created_at"]

    history = await client.threads.get_history(thread_id, limit=10)
    assert history[0]["checkpoint"] == state["checkpoint"]
    assert [h["values"].get("steps", []) for h in history] == [["greet", "finish"], ["greet"], [], []]
    assert history[1]["next"] == ["finish"] and history[1]["tasks"][0]["name"] == "finish"
    assert history[0]["parent_checkpoint"] == history[1]["checkpoint"]
    older = await client.threads.get_history(thread_id, before=history[1]["checkpoint"]["checkpoint_id"], limit=1)
    assert [h["checkpoint"] for h in older] == [history[2]["checkpoint"]]
    inputs = await client.threads.get_history(thread_id, metadata={"source": "input"})
    assert [h["checkpoint"] for h in inputs] == [history[3]["checkpoint"]]
    async with httpx.AsyncClient(base_url=keel[0].url) as http:
        got = (await http.get(f"/threads/{thread_id}/history", params={"limit": 2})).json()
    assert [h["checkpoint"] for h in got] == [h["checkpoint"] for h in history[:2]]

    at = await client.threads.get_state(thread_id, checkpoint_id=history[1]["checkpoint"]["checkpoint_id"])
    assert at["values"]["steps"] == ["greet"] and at["next"] == ["finish"]
    same = await client.threads.get_state(thread_id, checkpoint=history[1]["checkpoint"])
    assert same["checkpoint"] == at["checkpoint"]
    picked = await client.threads.get_state(thread_id, select=["values.steps", "next"])
    assert picked == {"values": {"steps": ["greet", "finish"]}, "next": []}
    with pytest.raises(NotFoundError, match="checkpoint nope not found"):
        await client.threads.get_state(thread_id, checkpoint_id="nope")


async def test_interrupts_and_subgraph_state(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    thread_id = (await client.threads.create(graph_id="nested"))["thread_id"]
    await keel[1]["nested"].ainvoke({}, cfg(thread_id))

    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["sub"]
    [interrupt] = state["interrupts"]
    assert interrupt["value"] == {"question": "ship it?"} and set(interrupt) == {"value", "id"}
    [task] = state["tasks"]
    assert (task["name"], task["interrupts"], task["state"]) == ("sub", [interrupt], None)
    assert task["checkpoint"]["checkpoint_ns"].startswith("sub:")

    deep = await client.threads.get_state(thread_id, subgraphs=True)
    sub = deep["tasks"][0]["state"]
    assert sub["next"] == ["ask"] and sub["interrupts"] == [interrupt]
    assert sub["checkpoint"]["checkpoint_ns"] == task["checkpoint"]["checkpoint_ns"]
    assert sub["values"] == {"question": "ship it?"}


async def test_update_state(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    thread_id = (await client.threads.create(graph_id="chat"))["thread_id"]
    await keel[1]["chat"].ainvoke({"messages": []}, cfg(thread_id))

    done = await client.threads.update_state(thread_id, {"steps": ["by hand"]}, as_node="finish")
    assert set(done) == {"checkpoint"} and done["checkpoint"]["thread_id"] == thread_id
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint"] == done["checkpoint"]
    assert state["values"]["steps"] == ["greet", "finish", "by hand"]
    assert state["metadata"]["source"] == "update"
    thread = await client.threads.get(thread_id)
    assert thread["values"] is not None and thread["values"]["steps"] == ["greet", "finish", "by hand"]
    assert (await client.threads.search(values={"steps": ["by hand"]}))[0]["thread_id"] == thread_id

    with pytest.raises(BadRequestError, match="cannot update the state"):
        await client.threads.update_state(thread_id, {"steps": ["x"]}, as_node="no_such_node")


def strip(states: list[Any]) -> list[Any]:
    return [(s["values"], s["next"], s["checkpoint"]["checkpoint_id"]) for s in states]


async def test_copy_keeps_history_and_is_independent(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    source = (await client.threads.create(graph_id="chat", metadata={"owner": "ana"}))["thread_id"]
    await keel[1]["chat"].ainvoke({"messages": []}, cfg(source))
    copied = await client.threads.copy(source)
    copy_id = copied["thread_id"]
    assert copy_id != source and copied["metadata"] == {"owner": "ana", "graph_id": "chat"}

    assert strip(await client.threads.get_history(copy_id)) == strip(await client.threads.get_history(source))
    assert (await client.threads.get_state(copy_id))["checkpoint"]["thread_id"] == copy_id

    await client.threads.update_state(copy_id, {"steps": ["only in the copy"]}, as_node="finish")
    assert (await client.threads.get_state(source))["values"]["steps"] == ["greet", "finish"]
    assert (await client.threads.get_state(copy_id))["values"]["steps"][-1] == "only in the copy"
    assert len(await client.threads.get_history(copy_id)) == len(await client.threads.get_history(source)) + 1


async def test_delete_removes_the_thread_and_its_checkpoints(client: Any, keel: tuple[KeelServer, LoadedGraphs]):
    thread_id = (await client.threads.create(graph_id="chat"))["thread_id"]
    other = (await client.threads.create(graph_id="chat"))["thread_id"]
    for t in (thread_id, other):
        await keel[1]["chat"].ainvoke({"messages": []}, cfg(t))
    assert await checkpoint_rows(keel[0].database_url, thread_id) > 0

    await client.threads.delete(thread_id)
    assert await checkpoint_rows(keel[0].database_url, thread_id) == 0
    assert await checkpoint_rows(keel[0].database_url, other) > 0
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)
