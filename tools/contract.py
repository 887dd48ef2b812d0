"""What every tool declares: a name, an argument schema, a risk level, a timeout, and the coroutine
that does the work. Risk is data, and the default is the strictest level."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Risk(StrEnum):
    READ_ONLY = "read_only"  # no side effects: retry and replay freely
    IDEMPOTENT_WRITE = "idempotent_write"  # writes once per idempotency key; a repeat returns the first result
    APPROVAL_REQUIRED = "approval_required"  # runs only after a person accepts (or edits) the call


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """Everything a tool may use besides its arguments. `db` is the desk database (a psycopg
    AsyncConnectionPool, handed in through the graph's runtime context; tools never open one)."""

    db: Any
    idempotency_key: str
    thread_id: str
    agent: str


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, ToolCall], Awaitable[Any]]  # (validated args, call) -> JSON-able result
    risk: Risk = Risk.APPROVAL_REQUIRED
    timeout_s: float = 10.0


class ToolError(Exception):
    """A failure the model can act on (not found, invalid state). `str()` is shown to the model."""
