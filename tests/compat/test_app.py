"""The compat app as a user moving from LangGraph Server has it (`tests/compat/app`, laid out as LangGraph's
templates lay one out: langgraph.json with `dependencies: ["."]`, graphs in a package) serves with
`keel serve --config` unchanged: every graph, a per-run context-manager factory, its own HTTP routes and env."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.compat.conftest import APP
from tests.process import KeelProcess

pytestmark = pytest.mark.slow


def registry() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((APP / "langgraph.json").read_text())
    return loaded


def test_the_app_is_laid_out_as_langgraphs_templates_lay_one_out() -> None:
    config = registry()
    assert config["dependencies"] == ["."]
    assert (APP / "my_agent" / "__init__.py").is_file()
    assert all(spec.startswith("./my_agent/") for spec in config["graphs"].values())


async def test_every_graph_in_langgraph_json_serves(client: LangGraphClient) -> None:
    found = await client.assistants.search(limit=100)
    assert sorted(assistant["graph_id"] for assistant in found) == sorted(registry()["graphs"])


async def test_an_async_context_manager_factory_is_entered_for_each_run_and_exited_after(
    client: LangGraphClient,
) -> None:
    first = await client.runs.wait(None, "managed", input={}, context={"user_name": "Ada"})
    assert first == {"reply": "connected for Ada", "open_connections": 1}
    second = await client.runs.wait(None, "managed", input={})
    assert second == {"reply": "connected for nobody", "open_connections": 1}, "the first run's connection closed"


async def test_the_apps_own_routes_serve_beside_keels_and_are_in_its_openapi(compat_server: KeelProcess) -> None:
    async with httpx.AsyncClient(base_url=compat_server.base_url) as http:
        hello = await http.get("/hello/Ada")
        assert hello.status_code == 200
        assert hello.json() == {"greeting": "Ahoy", "hello": "Ada"}, "langgraph.json env (app.env) was applied"
        document = (await http.get("/openapi.json")).json()
        assert document["paths"]["/hello/{name}"]["get"]["summary"] == "Hello"
        assert "/threads" in document["paths"]
        assert (await http.get("/ok")).status_code == 200
