"""keel's routes read a request body as JSON whatever its content type, as LangGraph Server does.

Browser clients send JSON under other types: Agent Chat UI's Next.js passthrough forwards bodies as `text/plain`
(a type a browser sends without a CORS preflight), and `fetch` with a string body says `text/plain` too. FastAPI
reads a body as JSON only under `application/json`, so `JsonBodies` relabels any other body it passes to keel's
routes, after running the input guard's JSON checks on it (`server.input_guard` checked only what it knew for
JSON). A body that is not JSON is still refused with 422 by FastAPI, naming where it stops parsing.

It sits inside `server.user_app.UserRoutes`: the user's own routes see their requests as sent.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.input_guard import Refused, check_json_body, content_type, replay


class JsonBodies:
    def __init__(self, app: ASGIApp, *, max_message_chars: int) -> None:
        self.app = app
        self.max_message_chars = max_message_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = content_type(scope) if scope["type"] == "http" else "application/json"
        if kind == "application/json" or kind.endswith("+json"):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:
            return  # the client left while sending
        if body:
            try:
                if kind:  # the input guard checked an unlabelled body already, as JSON
                    check_json_body(body, self.max_message_chars)
            except Refused as refused:
                await JSONResponse({"detail": refused.detail}, status_code=refused.status)(scope, receive, send)
                return
            scope = dict(scope)
            MutableHeaders(scope=scope)["content-type"] = "application/json"
        await self.app(scope, replay(body, receive), send)


async def _read(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
