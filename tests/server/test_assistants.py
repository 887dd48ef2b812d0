"""Assistants through the official SDK: one per graph in langgraph.json, plus named configurations;
graph drawings and schemas; the error contract (404/409/422/500 bodies) and the OpenAPI docs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from server.errors import NotFound, register_error_handlers
from tests.server.api_graphs import GRAPHS
from tests.server.conftest import KeelServer, write_graphs

pytestmark = pytest.mark.slow  # keel runs as a child process

SOURCE = (Path(__file__).parent / "api_graphs.py").read_text()
NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")  # LangGraph Server's, for system assistants


@pytest.fixture
def server(keel_server: Callable[..., KeelServer], tmp_path: Path) -> KeelServer:
    return keel_server(write_graphs(tmp_path, SOURCE, GRAPHS))


@pytest.fixture
async def client(server: KeelServer) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=server.url)
    yield client
    await client.aclose()


async def test_every_graph_is_an_assistant(client: LangGraphClient):
    found = await client.assistants.search(limit=100, sort_by="graph_id", sort_order="asc")
    assert [a["graph_id"] for a in found] == sorted(GRAPHS)
    for assistant in found:
        assert assistant["assistant_id"] == str(uuid.uuid5(NAMESPACE_GRAPH, assistant["graph_id"]))
        assert assistant["name"] == assistant["graph_id"]
        assert (assistant["metadata"], assistant["version"], assistant["config"]) == ({"created_by": "system"}, 1, {})
    by_graph_id = await client.assistants.get("chat")
    assert by_graph_id == await client.assistants.get(str(uuid.uuid5(NAMESPACE_GRAPH, "chat")))
    assert await client.assistants.count() == len(GRAPHS)
    assert [a["graph_id"] for a in await client.assistants.search(graph_id="nested")] == ["nested"]


async def test_named_assistants(client: LangGraphClient):
    made = await client.assistants.create(
        "chat", config={"configurable": {"tone": "dry"}}, context={"user": "ana"}, metadata={"team": "red"}, name="Dry"
    )
    assert (made["graph_id"], made["name"], made["version"], made["description"]) == ("chat", "Dry", 1, None)
    assert made["context"] == {"user": "ana"}
    with pytest.raises(ConflictError) as conflict:
        await client.assistants.create("chat", assistant_id=made["assistant_id"])
    assert conflict.value.body == {"detail": f"assistant {made['assistant_id']} already exists"}
    same = await client.assistants.create("chat", assistant_id=made["assistant_id"], if_exists="do_nothing")
    assert same == made

    updated = await client.assistants.update(made["assistant_id"], metadata={"level": 2}, name="Drier")
    assert (updated["name"], updated["version"], updated["metadata"]) == ("Drier", 2, {"team": "red", "level": 2})
    assert updated["config"] == made["config"]
    moved = await client.assistants.update(made["assistant_id"], graph_id="nested", config={})
    assert (moved["graph_id"], moved["config"]) == ("nested", {})

    assert [a["name"] for a in await client.assistants.search(name="dri")] == ["Drier"]
    assert [a["name"] for a in await client.assistants.search(metadata={"team": "red"})] == ["Drier"]
    page = await client.assistants.search(limit=2, response_format="object")
    assert len(page["assistants"]) == 2 and page["next"] == "2"
    assert await client.assistants.count(graph_id="nested") == 2

    await client.assistants.delete(made["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get(made["assistant_id"])
    with pytest.raises(NotFoundError, match=r"graph 'nope' is not in langgraph\.json"):
        await client.assistants.create("nope")


async def test_delete_with_threads(client: LangGraphClient):
    made = await client.assistants.create("chat")
    mine = await client.threads.create(metadata={"assistant_id": made["assistant_id"]})
    other = await client.threads.create(metadata={"assistant_id": "someone-else"})
    await client.assistants.delete(made["assistant_id"], delete_threads=True)
    with pytest.raises(NotFoundError):
        await client.threads.get(mine["thread_id"])
    assert (await client.threads.get(other["thread_id"]))["thread_id"] == other["thread_id"]


async def test_unknown_assistants_are_404(client: LangGraphClient):
    for unknown in ("no-such-graph", str(uuid.uuid4())):
        with pytest.raises(NotFoundError) as caught:
            await client.assistants.get(unknown)
        assert caught.value.body == {"detail": caught.value.message}
        assert unknown in caught.value.message
        with pytest.raises(NotFoundError):
            await client.assistants.get_schemas(unknown)


async def test_graph_drawing(client: LangGraphClient):
    drawn = await client.assistants.get_graph("chat")
    assert [node["id"] for node in drawn["nodes"]] == ["__start__", "greet", "finish", "__end__"]
    assert {"source": "greet", "target": "finish"} in drawn["edges"]
    flat = {node["id"] for node in (await client.assistants.get_graph("nested"))["nodes"]}
    deep = {node["id"] for node in (await client.assistants.get_graph("nested", xray=True))["nodes"]}
    assert "sub" in flat and "sub:ask" in deep and "sub:ask" not in flat
    assert await client.assistants.get_graph("nested", xray=1) == await client.assistants.get_graph("nested", xray=True)
    with pytest.raises(UnprocessableEntityError, match="xray must be"):
        await client.assistants.get_graph("chat", params={"xray": "deep"})


async def test_schemas_and_subgraphs(client: LangGraphClient):
    schemas = await client.assistants.get_schemas("chat")
    assert schemas["graph_id"] == "chat"
    assert schemas["input_schema"] is not None and set(schemas["input_schema"]["properties"]) == {"messages", "steps"}
    assert schemas["state_schema"] is not None and set(schemas["state_schema"]["properties"]) == {"messages", "steps"}
    assert schemas["output_schema"] is not None and schemas["config_schema"] is not None
    assert schemas["context_schema"] is None
    subgraphs = await client.assistants.get_subgraphs("nested")
    assert list(subgraphs) == ["sub"]
    sub_state = subgraphs["sub"]["state_schema"]
    assert sub_state is not None and set(sub_state["properties"]) == {"question", "answer"}
    assert list(await client.assistants.get_subgraphs("nested", namespace="sub")) == ["sub"]
    assert await client.assistants.get_subgraphs("chat") == {}


async def test_openapi_docs(server: KeelServer):
    async with httpx.AsyncClient(base_url=server.url) as http:
        spec = await http.get("/openapi.json")
        docs = await http.get("/docs")
    assert spec.status_code == 200 and docs.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/assistants/search", "/threads/{thread_id}/state", "/threads/{thread_id}/history"):
        assert path in paths


async def test_unexpected_errors_are_logged_500s_with_detail(caplog: pytest.LogCaptureFixture):
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/threads/{thread_id}/boom")
    async def boom(thread_id: str) -> None:
        raise RuntimeError("kaput")

    @app.get("/gone")
    async def gone() -> None:
        raise NotFound("it is gone")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://keel") as http:
        with caplog.at_level(logging.ERROR, logger="server.errors"):
            crashed = await http.get("/threads/t-1/boom")
        missing = await http.get("/gone")
    assert crashed.status_code == 500
    assert crashed.json() == {"detail": "internal error; the server log has the details"}
    [record] = caplog.records
    assert record.getMessage() == "unexpected error on GET /threads/t-1/boom (thread_id=t-1)"
    assert record.exc_info is not None and "kaput" in str(record.exc_info[1])
    assert (missing.status_code, missing.json()) == (404, {"detail": "it is gone"})
