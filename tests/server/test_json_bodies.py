"""keel's routes read a body as JSON whatever its content type, as LangGraph Server does: Agent Chat UI's Next.js
passthrough forwards `text/plain`, and a bare `fetch(url, {body: string})` says `text/plain` too. The input guard's
checks still apply; a body that is not JSON is a 422; a user's own routes see their requests as sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import KeelServer

pytestmark = pytest.mark.slow  # keel runs as a child process

ROUTES = """
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"content_type": request.headers.get("content-type"), "body": body.decode()})


app = Starlette(routes=[Route("/mine/echo", echo, methods=["POST"])])
"""

GRAPH = """
from langgraph.graph import START, MessagesState, StateGraph

builder = StateGraph(MessagesState)
builder.add_node("noop", lambda state: {})
builder.add_edge(START, "noop")
graph = builder.compile()
"""


@pytest.fixture
def server(keel_server: Callable[..., KeelServer], tmp_path: Path) -> KeelServer:
    (tmp_path / "graph.py").write_text(GRAPH)
    (tmp_path / "routes.py").write_text(ROUTES)
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"chat": "./graph.py:graph"}, "http": {"app": "./routes.py:app"}}))
    return keel_server(config)


def post(http: httpx.Client, path: str, body: str | bytes, content_type: str | None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return http.post(path, content=body.encode() if isinstance(body, str) else body, headers=headers)


def test_a_json_body_is_read_whatever_its_content_type(server: KeelServer):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for content_type in ("text/plain;charset=UTF-8", None, "application/x-www-form-urlencoded"):
            metadata = {"via": str(content_type)}
            created = post(http, "/threads", json.dumps({"metadata": metadata}), content_type)
            assert created.status_code == 200, (content_type, created.text)
            assert created.json()["metadata"] == metadata
            found = post(http, "/threads/search", json.dumps({"metadata": metadata}), content_type)
            assert [row["thread_id"] for row in found.json()] == [created.json()["thread_id"]]


def test_what_is_not_json_is_still_a_422_and_the_guard_still_applies(server: KeelServer):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert post(http, "/threads", "metadata=1", "text/plain").status_code == 422
        assert post(http, "/threads", b"\xff\xfe", "text/plain").status_code == 422
        unstorable = post(http, "/threads", json.dumps({"metadata": {"a": "x\u0000y"}}), "text/plain")
        assert unstorable.status_code == 422 and "body.metadata.a" in unstorable.json()["detail"]
        assert post(http, "/threads/count", "{}", "text/plain").json() == 0


def test_a_users_route_sees_its_request_as_sent(server: KeelServer):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        echoed = post(http, "/mine/echo", '{"a": 1}', "text/plain").json()
    assert echoed == {"content_type": "text/plain", "body": '{"a": 1}'}
