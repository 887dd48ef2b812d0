"""What `keel chat` prints while a run streams (stream_mode `messages`): each agent's text as its tokens arrive,
and one line per tool call and per tool result.

The `messages` mode sends each message whole so far (`messages/partial`), so only the part not yet printed is
written. A tool call is printed once its message is done (the next message starts, it completes, or the stream
ends), because a real model streams a call's arguments in pieces.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

LINE = 100  # a tool line is cut here: one line each, whatever the arguments


def text_of(content: Any) -> str:
    """A message's text: a string, or the text blocks of a content list (`[{"type": "text", "text": …}]`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block if isinstance(block, str) else str(block.get("text", ""))
            for block in content
            if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
        )
    return ""


def one_line(text: str, width: int = LINE) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


class StreamPrinter:
    """Turns one run's stream parts into terminal output."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.labels: dict[str, str] = {}  # message id -> the agent that speaks it
        self.printed: dict[str, str] = {}  # message id -> its text written so far
        self.calls: dict[str, list[dict[str, Any]]] = {}  # message id -> its latest tool calls
        self.shown_calls: set[str] = set()
        self.current: str | None = None
        self.mid_line = False
        self.run_id: str | None = None

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        if text:
            self.mid_line = not text.endswith("\n")

    def line(self, text: str) -> None:
        if self.mid_line:
            self.write("\n")
        self.write(text + "\n")

    def part(self, event: str, data: Any) -> None:
        if event == "metadata" and isinstance(data, dict):
            self.run_id = str(data.get("run_id") or "") or self.run_id
        elif event == "messages/metadata" and isinstance(data, dict):
            for message_id, info in data.items():
                self.labels[message_id] = _agent(info.get("metadata", {}) if isinstance(info, dict) else {})
        elif event in ("messages/partial", "messages/complete") and isinstance(data, list):
            for message in data:
                if isinstance(message, dict):
                    self.message(message, complete=event == "messages/complete")
        elif event == "error":
            detail = data.get("message") or data.get("error") if isinstance(data, dict) else data
            self.line(f"error: {detail}")

    def message(self, message: dict[str, Any], *, complete: bool) -> None:
        kind = message.get("type")
        message_id = str(message.get("id") or "")
        if kind in ("ai", "AIMessageChunk"):
            if message_id != self.current:
                self.finish_calls()
                self.current = message_id
            text = text_of(message.get("content"))
            self.stream_text(message_id, text)
            if message.get("tool_calls"):
                self.calls[message_id] = list(message["tool_calls"])
            if complete:
                self.finish_calls()
        elif kind == "tool":
            self.finish_calls()
            self.current = None
            name = message.get("name") or "tool"
            self.line("  " + one_line(f"<- {name}: {text_of(message.get('content'))}"))

    def stream_text(self, message_id: str, text: str) -> None:
        before = self.printed.get(message_id, "")
        if not text or text == before:
            return
        if before and text.startswith(before):
            self.write(text[len(before) :])
        else:  # a new message, or one rewritten from the start
            label = self.labels.get(message_id, "agent")
            self.line("")
            self.write(f"{label}: {text}")
        self.printed[message_id] = text

    def finish_calls(self) -> None:
        for message_id, calls in list(self.calls.items()):
            label = self.labels.get(message_id, "agent")
            for call in calls:
                call_id = str(call.get("id") or f"{message_id}:{call.get('name')}")
                if call_id in self.shown_calls or not call.get("name"):
                    continue
                self.shown_calls.add(call_id)
                self.line("  " + one_line(f"-> {label}: {call['name']}({compact(call.get('args', {}))})"))
        self.calls.clear()

    def end(self) -> None:
        self.finish_calls()
        if self.mid_line:
            self.write("\n")


def _agent(metadata: dict[str, Any]) -> str:
    """The agent a message comes from: the top-level node it runs under (`billing` for a worker's sub-graph)."""
    namespace = str(metadata.get("langgraph_checkpoint_ns") or "")
    first = namespace.split("|", 1)[0].split(":", 1)[0]
    return first or str(metadata.get("langgraph_node") or "agent")
