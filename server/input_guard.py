"""The one check every request passes before routing: size limits and text PostgreSQL cannot store.

`InputGuard` is pure ASGI middleware (Starlette's `BaseHTTPMiddleware` would buffer SSE responses). It

- refuses a body over `KEEL_MAX_BODY_BYTES` with 413: at once when `Content-Length` says so, else while
  reading a chunked body, counting as it goes and never holding more than the limit;
- reads a JSON body once more for what a schema cannot express, answering 422 with the field's location:
  NUL characters and lone surrogates (PostgreSQL's text and jsonb refuse both), `NaN`/`Infinity` (Python
  reads them, PostgreSQL does not), nesting deeper than `MAX_DEPTH`, and a message in any `messages` list
  (run input, `command.update`, state values) longer than `KEEL_MAX_MESSAGE_CHARS`;
- refuses NUL characters and lone surrogates in query parameters (422 naming the parameter); the same check
  for path parameters is `check_path_parameters`, an app-wide dependency (they are known after routing).

The body it read is handed on to the app unchanged; later `receive()` calls (an SSE response waiting for the
client to leave) reach the server as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import InvalidInput

# Deeper JSON than any keel resource needs; Python's own recursion limit (about 1000) is the hard stop.
MAX_DEPTH = 100
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Refused(Exception):
    """A request keel answers with `status` and `{"detail": detail}` without routing it."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class InputGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_message_chars: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_message_chars = max_message_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_query(scope)
            body = await self._read_body(scope, receive)
            if body is None:
                return  # the client left while sending
            if body and is_json(scope):
                check_json_body(body, self.max_message_chars)
        except Refused as refused:
            await JSONResponse({"detail": refused.detail}, status_code=refused.status)(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        too_large = Refused(
            413, f"request body is larger than the limit of {self.max_body_bytes} bytes (KEEL_MAX_BODY_BYTES)"
        )
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdecimal() and int(declared) > self.max_body_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large  # stop reading: the server closes the connection after the 413
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` handing `body`, already read, to the app first."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def content_type(scope: Scope) -> str:
    return Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()


def is_json(scope: Scope) -> bool:
    """A body read as JSON: application/json or application/*+json, or no content type (keel's routes read it as
    JSON, `server.json_bodies`, and so may a user's)."""
    kind = content_type(scope)
    return not kind or kind == "application/json" or kind.endswith("+json")


def check_query(scope: Scope) -> None:
    for name, value in QueryParams(scope["query_string"]).multi_items():
        _check_text(f"query parameter {name}", name)
        _check_text(f"query parameter {name}", value)


async def check_path_parameters(request: Request) -> None:
    """An app-wide dependency: path parameters are known only once the router has matched the path."""
    for name, value in request.path_params.items():
        try:
            _check_text(f"path parameter {name}", str(value))
        except Refused as refused:
            raise InvalidInput(refused.detail) from None


def check_json_body(body: bytes, max_message_chars: int) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(422, f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        return  # FastAPI answers 422 with the position
    except RecursionError:
        raise Refused(422, f"request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # NaN/Infinity, or an integer longer than Python converts
        raise Refused(422, f"request body: {exc}") from None
    for location, item, depth in _walk(value):
        if depth > MAX_DEPTH:
            raise Refused(422, f"{location}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            _check_text(location, item)
        elif isinstance(item, dict):
            for key in item:
                _check_text(location, key)
            if "messages" in item:
                _check_messages(f"{location}.messages", item["messages"], max_message_chars)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _walk(value: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value in a parsed JSON document with its location (`body.a.b[0]`) and depth; no recursion."""
    stack: list[tuple[str, Any, int]] = [("body", value, 0)]
    while stack:
        location, item, depth = stack.pop()
        yield location, item, depth
        if depth > MAX_DEPTH:
            return
        if isinstance(item, dict):
            stack.extend((f"{location}.{key}", child, depth + 1) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{location}[{index}]", child, depth + 1) for index, child in reversed(list(enumerate(item))))


def _check_text(location: str, text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
        raise Refused(422, f"{location}: text must not contain {what}")


def _check_messages(location: str, messages: Any, limit: int) -> None:
    """A message is a string, a `[role, content]` pair or a dict with `content` (a string or content blocks);
    its size is the characters of every string in its content."""
    items = messages if isinstance(messages, list) else [messages]
    for index, message in enumerate(items):
        where = f"{location}[{index}]" if isinstance(messages, list) else location
        if isinstance(message, dict):
            where, content = f"{where}.content", message.get("content")
        elif isinstance(message, list) and len(message) == 2:
            where, content = f"{where}[1]", message[1]
        else:
            content = message
        size = sum(len(item) for _, item, _ in _walk(content) if isinstance(item, str))
        if size > limit:
            raise Refused(
                422,
                f"{where}: a message of {size} characters is longer than the limit of {limit} (KEEL_MAX_MESSAGE_CHARS)",
            )
