"""The run pipeline's records, declared once: a run row, what it was created with, and the statuses of runs
and threads. The store returns them; the run service, the worker, `execute` and observability pass them on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal, get_args

from typing_extensions import TypedDict

ActiveStatus = Literal["pending", "running"]
EndStatus = Literal["success", "error", "timeout", "interrupted"]
RunStatus = Literal[ActiveStatus, EndStatus]
ACTIVE: tuple[ActiveStatus, ...] = get_args(ActiveStatus)
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
CancelAction = Literal["interrupt", "rollback"]
MultitaskStrategy = Literal["reject", "enqueue", "interrupt", "rollback"]


class RunKwargs(TypedDict, total=False):
    """What a run was created with (the request body's run fields, after the assistant's are merged in)."""

    input: Any
    command: dict[str, Any]
    config: dict[str, Any]
    context: dict[str, Any]
    stream_mode: list[str]
    stream_subgraphs: bool
    interrupt_before: Literal["*"] | list[str]
    interrupt_after: Literal["*"] | list[str]
    checkpoint: dict[str, Any]
    checkpoint_id: str
    durability: Literal["sync", "async", "exit"]
    on_disconnect: Literal["cancel", "continue"]
    on_completion: Literal["delete", "keep"]
    timeout_s: float  # a named assistant's `run_timeout_s`
    budget: dict[str, Any]  # a named assistant's `budget` (server/runs/budget.py)
    after_seconds: float  # a delayed run: due this long after its creation
    webhook: str  # POSTed the run when it ends


class Run(TypedDict):
    """A row of keel.runs."""

    run_id: uuid.UUID
    thread_id: uuid.UUID
    assistant_id: str
    graph_id: str
    status: RunStatus
    kwargs: RunKwargs
    metadata: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    attempt: int
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    cancel_action: CancelAction | None
    error: str | None
    usage: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None


class StartedRun(Run):
    """A run a worker is about to execute: where its event log continues and how long it has run so far."""

    next_seq: int  # events continue across attempts
    elapsed_s: float  # since its first attempt started (its timeout counts from there)


class Thread(TypedDict):
    """A row of keel.threads."""

    thread_id: uuid.UUID
    created_at: dt.datetime
    updated_at: dt.datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    config: dict[str, Any]
    values: Any
    interrupts: dict[str, Any]
    active_runs: int
    ttl_strategy: str | None
    ttl_minutes: float | None
    expires_at: dt.datetime | None


class ThreadTTL(TypedDict):
    """A thread's time-to-live as a request sets it (LangGraph Server's `ttl`): minutes from now."""

    strategy: Literal["delete"]
    ttl: float
