"""langgraph.json `auth` enforced: a user's auth.py written as LangGraph's tutorial writes it, two users through
the official SDK. Every request is authenticated; each user's threads and runs are invisible to the other
(404, never 403), searches and counts never include them, and the graph sees its caller as LangGraph Server
hands it over (`config.configurable.langgraph_auth_user`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.server.conftest import KeelServer

pytestmark = pytest.mark.slow

WHOAMI = """
from typing import Any
from typing_extensions import TypedDict
from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph, START, END


class State(TypedDict, total=False):
    caller: str
    display_name: str
    permissions: list


def whoami(state: State, config: RunnableConfig) -> dict[str, Any]:
    user = config["configurable"]["langgraph_auth_user"]
    return {
        "caller": user.identity,
        "display_name": user["display_name"],
        "permissions": list(config["configurable"]["langgraph_auth_permissions"]),
    }


builder = StateGraph(State)
builder.add_node("whoami", whoami)
builder.add_edge(START, "whoami")
builder.add_edge("whoami", END)
graph = builder.compile()
"""


def serve_with_docs_auth(tmp_path: Path, keel_server: Callable[..., KeelServer]) -> KeelServer:
    (tmp_path / "whoami.py").write_text(WHOAMI)
    shutil.copy(Path(__file__).with_name("docs_auth.py"), tmp_path / "auth.py")
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"whoami": "./whoami.py:graph"}, "auth": {"path": "./auth.py:auth"}}))
    return keel_server(config, workers=1)


async def status_of(attempt: Callable[[], Any]) -> int:
    """The HTTP status an SDK call failed with (the SDK raises its own errors for some calls, httpx's for others)."""
    try:
        await attempt()
    except httpx.HTTPStatusError as exc:  # the SDK's own errors are HTTPStatusErrors too
        return exc.response.status_code
    return 200


def client_for(server: KeelServer, token: str) -> LangGraphClient:
    return get_client(url=server.url, headers={"Authorization": f"Bearer {token}"})


async def test_requests_without_valid_credentials_get_401_and_meta_routes_stay_open(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    server = serve_with_docs_auth(tmp_path, keel_server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        missing = await http.post("/threads/search", json={})
        wrong = await http.post("/threads/search", json={}, headers={"Authorization": "Bearer nope"})
        good = await http.post("/threads/search", json={}, headers={"Authorization": "Bearer user1-token"})
        open_paths = [(await http.get(path)).status_code for path in ("/ok", "/health", "/info", "/metrics")]
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token"}
    assert good.status_code == 200
    assert open_paths == [200, 200, 200, 200]


async def test_each_user_sees_only_their_own_threads_and_runs(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    server = serve_with_docs_auth(tmp_path, keel_server)
    async with client_for(server, "user1-token") as alice, client_for(server, "user2-token") as bob:
        await owners_are_apart(alice, bob)


async def owners_are_apart(alice: LangGraphClient, bob: LangGraphClient) -> None:
    thread = await alice.threads.create(metadata={"topic": "refund"})
    assert thread["metadata"] == {"topic": "refund", "owner": "user1"}  # stamped by the handler
    run = await alice.runs.wait(thread["thread_id"], "whoami", input={})
    assert isinstance(run, dict) and run["caller"] == "user1" and run["display_name"] == "Alice"
    [listed] = await alice.runs.list(thread["thread_id"])
    thread_id, run_id = thread["thread_id"], listed["run_id"]

    attempts: list[Callable[[], Any]] = [
        lambda: bob.threads.get(thread_id),
        lambda: bob.threads.update(thread_id, metadata={"owner": "user2"}),
        lambda: bob.threads.get_state(thread_id),
        lambda: bob.threads.get_history(thread_id),
        lambda: bob.threads.update_state(thread_id, {"caller": "bob"}),
        lambda: bob.threads.copy(thread_id),
        lambda: bob.threads.delete(thread_id),
        lambda: bob.runs.list(thread_id),
        lambda: bob.runs.get(thread_id, run_id),
        lambda: bob.runs.join(thread_id, run_id),
        lambda: bob.runs.cancel(thread_id, run_id),
        lambda: bob.runs.delete(thread_id, run_id),
        lambda: bob.runs.wait(thread_id, "whoami", input={}),
        lambda: bob.runs.create(thread_id, "whoami", input={}),
    ]
    statuses = [await status_of(attempt) for attempt in attempts]
    assert statuses == [404] * len(attempts)

    async def join_stream() -> None:
        async for _ in bob.runs.join_stream(thread_id, run_id):
            pass

    async def thread_stream() -> None:
        async for _ in await bob.threads.join_stream(thread_id):
            pass

    assert [await status_of(join_stream), await status_of(thread_stream)] == [404, 404]

    assert [t["thread_id"] for t in await bob.threads.search()] == []
    assert await bob.threads.count() == 0
    assert [t["thread_id"] for t in await alice.threads.search()] == [thread_id]
    assert await alice.threads.count() == 1
    # Nothing bob tried changed alice's thread.
    metadata = (await alice.threads.get(thread_id))["metadata"] or {}
    assert (metadata["owner"], metadata["topic"]) == ("user1", "refund")
    assert len(await alice.runs.list(thread_id)) == 1


async def test_a_client_cannot_name_the_caller_in_the_config(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    server = serve_with_docs_auth(tmp_path, keel_server)
    async with client_for(server, "user2-token") as bob:
        thread = await bob.threads.create()
        await refuses_a_named_caller(server, bob, thread["thread_id"])


async def refuses_a_named_caller(server: KeelServer, bob: LangGraphClient, thread_id: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": "Bearer user2-token"}) as http:
        spoof = await http.post(
            f"/threads/{thread_id}/runs",
            json={"assistant_id": "whoami", "config": {"configurable": {"langgraph_auth_user_id": "user1"}}},
        )
    assert spoof.status_code == 422 and "langgraph_auth_user_id" in spoof.json()["detail"]
    assert await bob.runs.list(thread_id) == []


async def test_a_stateless_run_creates_a_thread_its_caller_owns(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    server = serve_with_docs_auth(tmp_path, keel_server)
    thread_id = "6b0f6f4e-0000-4000-8000-000000000001"
    async with client_for(server, "user1-token") as alice, client_for(server, "user2-token") as bob:
        result = await alice.runs.wait(thread_id, "whoami", input={}, if_not_exists="create")
        assert isinstance(result, dict) and result["caller"] == "user1"
        assert ((await alice.threads.get(thread_id))["metadata"] or {})["owner"] == "user1"
        with pytest.raises(NotFoundError):
            await bob.threads.get(thread_id)


USER_ROUTES = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}
"""


@pytest.mark.parametrize("protected", [False, True])
async def test_the_users_own_routes_are_authenticated_only_when_langgraph_json_says_so(
    tmp_path: Path, keel_server: Callable[..., KeelServer], protected: bool
) -> None:
    (tmp_path / "whoami.py").write_text(WHOAMI)
    (tmp_path / "web.py").write_text(USER_ROUTES)
    shutil.copy(Path(__file__).with_name("docs_auth.py"), tmp_path / "auth.py")
    http_section = {"app": "./web.py:app", "enable_custom_route_auth": protected}
    config = tmp_path / "langgraph.json"
    config.write_text(
        json.dumps(
            {"graphs": {"whoami": "./whoami.py:graph"}, "auth": {"path": "./auth.py:auth"}, "http": http_section}
        )
    )
    server = keel_server(config)
    async with httpx.AsyncClient(base_url=server.url) as http:
        anonymous = await http.get("/hello")
        signed_in = await http.get("/hello", headers={"Authorization": "Bearer user1-token"})
        keel_route = await http.post("/threads/search", json={})
    assert anonymous.status_code == (401 if protected else 200)
    assert signed_in.status_code == 200 and signed_in.json() == {"hello": "world"}
    assert keel_route.status_code == 401  # keel's own routes are authenticated either way
