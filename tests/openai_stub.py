"""A local OpenAI-compatible endpoint for tests: `POST /v1/chat/completions`, streaming and not, served by
uvicorn on 127.0.0.1 in a background thread, so the real `ChatOpenAI` → openai client → HTTP path runs.

The wire format follows OpenAI's chat completions API: a streamed answer is `data: <chunk>` events with
text deltas, tool-call deltas carrying an `index` (the first with id and name, then argument fragments),
a chunk with `finish_reason`, a usage chunk with `"choices": []` when `stream_options.include_usage` was
asked for, and `data: [DONE]`. Scripted failures (`stub.failures = [429, 500]`) answer before the reply.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.loopback import serve_in_thread

ARGUMENT_FRAGMENT = 7  # characters of tool-call arguments per streamed delta


@dataclass
class Reply:
    """What the stub answers: text, or tool calls (name, arguments), or both."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


class OpenAIStub:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failures: list[int] = []  # status codes to answer, in order, before any reply
        self.replies: list[Reply] = []  # answered in order; then `default`
        self.default = Reply(text="Hello from the stub, streamed word by word.")
        self.port = 0
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._completions)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(Received(body, dict(request.headers), time.monotonic()))
        if self.failures:
            return _failure(self.failures.pop(0))
        reply = self.replies.pop(0) if self.replies else self.default
        completion_id = f"chatcmpl-{len(self.received)}"
        usage = _usage(body, reply)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _chunks(completion_id, body["model"], reply, usage if include_usage else None)
            return StreamingResponse(_events(chunks), media_type="text/event-stream")
        return JSONResponse(_completion(completion_id, body["model"], reply, usage))


def _failure(status: int) -> Response:
    # A rate limit says when to come back (the client honours it); a server error leaves it to backoff.
    headers = {"retry-after-ms": "50"} if status == 429 else {}
    error = {"message": f"stub failure {status}", "type": "rate_limit_error" if status == 429 else "server_error"}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = sum(len(str(message.get("content") or "").split()) for message in body["messages"])
    completion = len(reply.text.split()) + sum(len(json.dumps(args)) // 4 + 1 for _, args in reply.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(reply.tool_calls)
    ]


def _completion(completion_id: str, model: str, reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def _chunks(completion_id: str, model: str, reply: Reply, usage: dict[str, int] | None) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        return base | {"choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for token in re.findall(r"\S+\s*", reply.text):
        yield chunk({"content": token})
    for index, call in enumerate(_tool_calls(reply)):
        opening = {"index": index, "id": call["id"], "type": "function"}
        yield chunk({"tool_calls": [opening | {"function": {"name": call["function"]["name"], "arguments": ""}}]})
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), ARGUMENT_FRAGMENT):
            fragment = arguments[start : start + ARGUMENT_FRAGMENT]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if usage is not None:
        base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        yield base | {"choices": [], "usage": usage}


async def _events(chunks: Iterator[dict[str, Any]]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


@contextmanager
def running_stub() -> Iterator[OpenAIStub]:
    """Serve a fresh stub on a free loopback port for the duration of the block."""
    stub = OpenAIStub()
    with serve_in_thread(stub.app, name="openai-stub") as port:
        stub.port = port
        yield stub
