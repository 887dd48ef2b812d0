"""Input limits and bad input at the HTTP edge: a body limit (413), a per-message limit, NUL and lone surrogates,
bounded paging, and no 500 from any ordinary bad input (issue 11, defects 4 and 5).

Raw httpx on purpose: the SDK cannot send a lone surrogate, a chunked body or invalid UTF-8.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.api_graphs import GRAPHS
from tests.server.conftest import KeelServer, write_graphs

pytestmark = pytest.mark.slow  # keel runs as a child process

SOURCE = (Path(__file__).parent / "api_graphs.py").read_text()
LIMIT = 4096  # a small KEEL_MAX_BODY_BYTES keeps the over-limit bodies small
MESSAGE_LIMIT = 500  # KEEL_MAX_MESSAGE_CHARS, below the body limit


@pytest.fixture
async def http(
    keel_server: Callable[..., KeelServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("KEEL_MAX_BODY_BYTES", str(LIMIT))
    monkeypatch.setenv("KEEL_MAX_MESSAGE_CHARS", str(MESSAGE_LIMIT))
    server = keel_server(write_graphs(tmp_path, SOURCE, GRAPHS))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


def raw_json(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, so a lone surrogate travels as `\\ud800`."""
    return json.dumps(value, ensure_ascii=True).encode()


async def post_raw(http: httpx.AsyncClient, path: str, body: bytes) -> httpx.Response:
    return await http.post(path, content=body, headers={"content-type": "application/json"})


async def thread_that_ran(http: httpx.AsyncClient) -> str:
    """A thread with checkpoints of the `chat` graph (made through a state update: no worker here)."""
    thread_id = (await http.post("/threads", json={"metadata": {"graph_id": "chat"}})).json()["thread_id"]
    update = await http.post(f"/threads/{thread_id}/state", json={"values": {"steps": ["x"]}, "as_node": "finish"})
    assert update.status_code == 200, update.text
    return str(thread_id)


# --- body size -------------------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_answers_413_naming_the_limit(http: httpx.AsyncClient):
    big = {"metadata": {"blob": "x" * LIMIT}}
    response = await http.post("/threads", json=big)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"request body is larger than the limit of {LIMIT} bytes (KEEL_MAX_BODY_BYTES)"
    }
    assert (await http.post("/threads", json={"metadata": {"blob": "x" * (LIMIT // 2)}})).status_code == 200


async def test_a_chunked_body_over_the_limit_answers_413(http: httpx.AsyncClient):
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"metadata": {"blob": "'
        for _ in range(64):  # 64 x 1 KB, sixteen times the limit; no Content-Length
            sent += 1
            yield b"x" * 1024
        yield b'"}}'

    response = await http.post("/threads", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert f"{LIMIT} bytes (KEEL_MAX_BODY_BYTES)" in response.json()["detail"]


async def test_a_chunked_body_under_the_limit_is_read_whole(http: httpx.AsyncClient):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"metadata": {"owner": '
        yield b'"ana"}}'

    response = await http.post("/threads", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"owner": "ana"}


# --- message size ----------------------------------------------------------------------------------------------


def long_message(chars: int) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": "ok"}, {"role": "human", "content": "y" * chars}]}


async def test_a_run_input_message_over_the_limit_answers_422_naming_it(http: httpx.AsyncClient):
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "chat", "input": long_message(MESSAGE_LIMIT + 1)}
    response = await http.post(f"/threads/{thread_id}/runs", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"body.input.messages[1].content: a message of {MESSAGE_LIMIT + 1} characters is longer than "
        f"the limit of {MESSAGE_LIMIT} (KEEL_MAX_MESSAGE_CHARS)"
    }
    ok = await http.post(f"/threads/{thread_id}/runs", json={**body, "input": long_message(MESSAGE_LIMIT)})
    assert ok.status_code == 200, ok.text


async def test_content_blocks_count_towards_the_message_limit(http: httpx.AsyncClient):
    blocks = [{"type": "text", "text": "z" * (MESSAGE_LIMIT // 2 + 1)}] * 2
    body = {"assistant_id": "chat", "input": {"messages": [{"role": "human", "content": blocks}]}}
    response = await http.post("/runs", json=body)
    assert response.status_code == 422
    assert "body.input.messages[0].content" in response.json()["detail"]


async def test_command_update_and_state_update_messages_are_limited_too(http: httpx.AsyncClient):
    thread_id = await thread_that_ran(http)
    command = {"assistant_id": "chat", "command": {"update": long_message(MESSAGE_LIMIT + 1)}}
    response = await http.post(f"/threads/{thread_id}/runs", json=command)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.command.update.messages[1].content:")

    response = await http.post(f"/threads/{thread_id}/state", json={"values": long_message(MESSAGE_LIMIT + 1)})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.values.messages[1].content:")


# --- NUL and lone surrogates -------------------------------------------------------------------------------------

BAD_TEXT = {"nul": ("a\x00b", "a NUL character"), "surrogate": ("a\ud800b", "a lone surrogate")}


def bodies(text: str) -> Iterator[tuple[str, str, Any, str]]:
    """(method, path, body, the field the 422 must name) for `text` in every kind of JSON field."""
    yield "POST", "/threads", {"metadata": {"k": text}}, "body.metadata.k"
    yield "POST", "/threads", {"metadata": {text: 1}}, "body.metadata"
    yield "POST", "/threads/search", {"metadata": {"k": text}}, "body.metadata.k"
    yield "POST", "/threads/search", {"values": {"k": [text]}}, "body.values.k[0]"
    yield "POST", "/threads/count", {"metadata": {"k": text}}, "body.metadata.k"
    yield "POST", "/assistants", {"graph_id": "chat", "name": text}, "body.name"
    yield (
        "POST",
        "/assistants",
        {"graph_id": "chat", "config": {"configurable": {"k": text}}},
        ("body.config.configurable.k"),
    )
    yield "POST", "/assistants/search", {"name": text}, "body.name"
    yield "POST", "/assistants/search", {"metadata": {"k": text}}, "body.metadata.k"
    yield (
        "POST",
        "/runs",
        {"assistant_id": "chat", "input": {"messages": [{"role": "human", "content": text}]}},
        ("body.input.messages[0].content"),
    )
    yield "POST", "/runs", {"assistant_id": "chat", "metadata": {"k": text}}, "body.metadata.k"


@pytest.mark.parametrize("kind", BAD_TEXT)
async def test_nul_and_lone_surrogates_in_json_answer_422_naming_the_field(http: httpx.AsyncClient, kind: str):
    text, what = BAD_TEXT[kind]
    for method, path, body, field in bodies(text):
        response = await http.request(
            method, path, content=raw_json(body), headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, (path, body, response.text)
        assert response.json() == {"detail": f"{field}: text must not contain {what}"}, path


async def test_nul_in_patch_and_state_bodies_answers_422(http: httpx.AsyncClient):
    thread_id = await thread_that_ran(http)
    patch = await http.patch(f"/threads/{thread_id}", content=raw_json({"metadata": {"k": "\x00"}}))
    assert patch.status_code == 422
    state = await post_raw(http, f"/threads/{thread_id}/state", raw_json({"values": {"steps": ["\ud800"]}}))
    assert state.status_code == 422
    assert state.json()["detail"].startswith("body.values.steps[0]:")
    history = await post_raw(http, f"/threads/{thread_id}/history", raw_json({"before": "\x00"}))
    assert history.status_code == 422


async def test_nul_in_query_and_path_parameters_answers_422_naming_the_parameter(http: httpx.AsyncClient):
    thread_id = await thread_that_ran(http)
    runs = await http.get(f"/threads/{thread_id}/runs", params={"status": "a\x00b"})
    assert runs.status_code == 422
    assert runs.json() == {"detail": "query parameter status: text must not contain a NUL character"}

    state = await http.get(f"/threads/{thread_id}/state/abc%00def")
    assert state.status_code == 422
    assert state.json() == {"detail": "path parameter checkpoint_id: text must not contain a NUL character"}

    history = await http.get(f"/threads/{thread_id}/history", params={"before": "\x00"})
    assert history.status_code == 422


# --- paging bounds -----------------------------------------------------------------------------------------------


async def test_offset_and_limit_are_bounded_on_every_list(http: httpx.AsyncClient):
    thread_id = await thread_that_ran(http)
    huge = 2**63
    for path in ("/threads/search", "/assistants/search"):
        response = await http.post(path, json={"offset": huge})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["message"].startswith("invalid request: body.offset:")
        assert (await http.post(path, json={"limit": huge})).status_code == 422
    runs = await http.get(f"/threads/{thread_id}/runs", params={"offset": huge})
    assert runs.status_code == 422
    assert (await http.get(f"/threads/{thread_id}/runs", params={"offset": 10**6})).json() == []
    for limit in (0, huge):
        assert (await http.post(f"/threads/{thread_id}/history", json={"limit": limit})).status_code == 422
        assert (await http.get(f"/threads/{thread_id}/history", params={"limit": limit})).status_code == 422


# --- other bad input ---------------------------------------------------------------------------------------------


async def test_other_bad_input_answers_4xx_never_500(http: httpx.AsyncClient):
    thread_id = await thread_that_ran(http)
    unknown = uuid.uuid4()
    cases: list[tuple[str, str, bytes | None, dict[str, Any] | None]] = [
        ("POST", "/threads", b"", None),  # empty body
        ("POST", "/threads", b"[]", None),  # not an object
        ("POST", "/threads", b'"x"', None),
        ("POST", "/threads", b"\xff\xfe{}", None),  # not UTF-8
        ("POST", "/threads", b'{"metadata": {"k": "\xed\xa0\x80"}}', None),  # a surrogate encoded as UTF-8
        ("POST", "/threads", b'{"metadata": {"k": NaN}}', None),  # Python's json reads NaN; PostgreSQL does not
        ("POST", "/threads", b'{"metadata": {"k": Infinity}}', None),
        ("POST", "/threads", b'{"metadata": {"k": ' + b"9" * 5000 + b"}}", None),  # past Python's int limit
        ("POST", "/threads", b'{"metadata": {"k": ' + b"[" * 2000 + b"]" * 2000 + b"}}", None),  # deep
        ("POST", "/threads", b'{"metadata": ' + b'{"a":' * 150 + b"1" + b"}" * 150 + b"}", None),
        ("POST", "/threads/search", b'{"sort_by": "nope"}', None),
        ("POST", "/threads/search", b'{"ids": ["not-a-uuid"]}', None),
        ("POST", "/threads/search", b'{"limit": "ten"}', None),
        ("GET", "/threads/not-a-uuid", None, None),
        ("GET", f"/threads/{thread_id}/runs/not-a-uuid", None, None),
        ("GET", f"/threads/{thread_id}/runs", None, {"limit": "x"}),
        ("GET", f"/threads/{thread_id}/runs", None, {"status": "nope"}),
        ("POST", f"/threads/{thread_id}/runs", b'{"assistant_id": "chat", "context": [1]}', None),
        ("POST", f"/threads/{thread_id}/runs", b'{"assistant_id": "chat", "context": "x"}', None),
        ("POST", f"/threads/{thread_id}/runs", b'{"assistant_id": "chat", "config": {"configurable": 5}}', None),
        ("POST", "/assistants", b'{"graph_id": "chat", "config": {"configurable": [1]}}', None),
        ("GET", f"/assistants/{unknown}", None, None),
        ("GET", "/assistants/chat/graph", None, {"xray": "\u00b2"}),  # a digit that int() refuses
        ("GET", "/assistants/chat/graph", None, {"xray": "9" * 5000}),
        ("GET", f"/threads/{thread_id}/state/{'9' * 3000}", None, None),
        ("POST", f"/threads/{thread_id}/history", b'{"metadata": {"k": [[[]]]}, "before": {"checkpoint_id": 1}}', None),
        ("POST", f"/threads/{thread_id}/runs/{unknown}/cancel", None, {"action": "nope"}),
        # a checkpoint namespace naming no subgraph (found by the schemathesis test)
        ("POST", f"/threads/{thread_id}/state", b'{"values": {}, "checkpoint": {"checkpoint_ns": "nope"}}', None),
    ]
    for method, path, content, params in cases:
        headers = {"content-type": "application/json"} if content is not None else {}
        response = await http.request(method, path, content=content, params=params, headers=headers)
        assert 400 <= response.status_code < 500, (method, path, content and content[:80], params, response.text)
        assert "detail" in response.json(), response.text
