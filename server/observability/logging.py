"""Structured logs: one JSON object per line, carrying the run being worked on.

`log_context(...)` binds run_id, thread_id, trace_id and graph to everything logged inside it (contextvars,
so concurrent runs in one process do not mix); the node comes from LangGraph's current config when a log
call happens inside a node. Message content is dropped, and e-mail addresses and card numbers are masked, unless
KEEL_LOG_CONTENT allows them; anything shaped like a credential is masked either way."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

from server.observability.pii import mask_pii

_fields: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("keel_log_fields", default=None)

# Passwords in URLs, bearer/basic credentials and API-key-looking tokens.
_SECRETS = (
    (re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\b(sk|pk)-[A-Za-z0-9_-]{6,}"), r"\1-***"),
)
# A log call passes message content as `extra={"content": ...}`; it is kept only when allowed.
CONTENT_KEY = "content"


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _masked(text: str, *, content: bool) -> str:
    """Secrets always; personal data unless content is allowed."""
    return mask_secrets(text) if content else mask_pii(mask_secrets(text))


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    token = _fields.set({**(_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def _current_node() -> str | None:
    config = var_child_runnable_config.get()
    if not config:
        return None
    node = (config.get("metadata") or {}).get("langgraph_node")
    return str(node) if node else None


class JsonFormatter(logging.Formatter):
    def __init__(self, *, content: bool) -> None:
        super().__init__()
        self.content = content

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _masked(record.getMessage(), content=self.content),
        }
        line |= _fields.get() or {}
        node = _current_node()
        if node:
            line["node"] = node
        if self.content and hasattr(record, CONTENT_KEY):
            line[CONTENT_KEY] = mask_secrets(str(getattr(record, CONTENT_KEY)))
        if record.exc_info:
            line["exception"] = _masked(self.formatException(record.exc_info), content=self.content)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The human format, with the run's fields appended and the same masking."""

    def __init__(self, *, content: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.content = content

    def format(self, record: logging.LogRecord) -> str:
        text = _masked(super().format(record), content=self.content)  # before the run's fields (ids stay)
        fields = dict(_fields.get() or {})
        node = _current_node()
        if node:
            fields["node"] = node
        if self.content and hasattr(record, CONTENT_KEY):
            fields[CONTENT_KEY] = str(getattr(record, CONTENT_KEY))
        suffix = " ".join(f"{key}={value}" for key, value in fields.items())
        return mask_secrets(f"{text} [{suffix}]" if suffix else text)


def formatter(fmt: str, *, content: bool) -> logging.Formatter:
    return JsonFormatter(content=content) if fmt == "json" else TextFormatter(content=content)
