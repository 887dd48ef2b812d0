"""Runs on a thread, for the routes: create (assistant config and context merged in, the multitask strategy
and a resume's answers checked on the locked thread, a free worker slot of this process taken so the run
starts here at once), read, list, delete, cancel, wait for the end, stream.

Workers (in this process or another) do the running, so a run outlives the request that made it and any API
process can stream any run. The walk of a create is one way down: route → this service → store (insert) and
worker (start) → the event log, which the route's SSE response follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse

from server.db.pool import Connection, Pool
from server.errors import Conflict
from server.graph_loading import LoadedGraphs
from server.records import CancelAction, Run, RunKwargs, RunStatus
from server.runs import store
from server.runs.events import follow_batches
from server.runs.notify import Notifier
from server.runs.request_body import RunCreate
from server.runs.sse import run_stream
from server.runs.worker import Worker, slot_of
from server.serialize import JSON, to_json_compatible
from server.services import commands
from server.services.assistants import Assistant, resolve_assistant
from server.settings import RunSettings

_SHOWN: tuple[str, ...] = ("run_id", "thread_id", "assistant_id", "status", "metadata", "multitask_strategy")
_SHOWN += ("created_at", "updated_at", "attempt", "kwargs", "usage")


def run_json(run: Run) -> JSON:
    columns: Mapping[str, object] = run
    shown = {key: columns[key] for key in _SHOWN}
    if run.get("error"):
        shown["error"] = run["error"]
    return to_json_compatible(shown)


def stateless(body: RunCreate) -> tuple[uuid.UUID, RunCreate]:
    """A stateless run's thread (new) and body: the thread is created with the run, and its checkpoints are
    deleted when the run ends unless the caller keeps them (`on_completion="keep"`)."""
    update: dict[str, Any] = {"if_not_exists": "create"}
    if body.on_completion is None:
        update["on_completion"] = "delete"
    return uuid.uuid4(), body.model_copy(update=update)


@dataclass(frozen=True)
class RunService:
    pool: Pool
    graphs: LoadedGraphs
    notifier: Notifier
    worker: Worker | None
    settings: RunSettings
    # The request's headers that `http.configurable_headers` passes: they land in the run's config.configurable,
    # over the body's and the assistant's values, as on LangGraph Server.
    headers: Mapping[str, Any] = field(default_factory=dict)

    async def create(self, thread_id: uuid.UUID, body: RunCreate) -> Run:
        # A free worker slot here starts the run here, without a claim (see store.insert_run); the slot is
        # given back at the end of the block unless the run was created running under its lease.
        async with slot_of(self.worker) as slot, self.pool.connection() as conn:
            assistant = await resolve_assistant(conn, self.graphs, body.assistant_id)
            run = await self._insert(conn, thread_id, body, assistant, self._kwargs(body, assistant), slot.lease)
            slot.start(run)
        return run

    def _kwargs(self, body: RunCreate, assistant: Assistant) -> RunKwargs:
        """What the run's worker needs: the body's run fields under the assistant's config and context."""
        kwargs = body.run_kwargs()
        if "command" in kwargs:
            commands.check_shape(kwargs["command"], self.graphs[assistant.graph_id])
        kwargs["config"] = assistant.merged_config(kwargs.get("config"))
        if self.headers:
            kwargs["config"]["configurable"] = {**kwargs["config"].get("configurable", {}), **self.headers}
        if assistant.context or "context" in kwargs:
            kwargs["context"] = {**assistant.context, **(kwargs.get("context") or {})}
        if assistant.run_timeout_s is not None:
            kwargs["timeout_s"] = assistant.run_timeout_s
        return kwargs

    async def _insert(
        self,
        conn: Connection,
        thread_id: uuid.UUID,
        body: RunCreate,
        assistant: Assistant,
        kwargs: RunKwargs,
        lease: store.Lease | None,
    ) -> Run:
        resumes = "resume" in kwargs.get("command", {})
        if body.multitask_strategy == "enqueue" and not resumes:
            return await store.insert_run(
                conn,
                thread_id=thread_id,
                create_thread=body.if_not_exists == "create",
                assistant_id=assistant.assistant_id,
                graph_id=assistant.graph_id,
                kwargs=kwargs,
                metadata=body.metadata or {},
                start=lease,
            )
        async with conn.transaction():
            await store.ensure_thread(conn, thread_id, if_not_exists=body.if_not_exists, graph_id=assistant.graph_id)
            if resumes:  # checked on the locked thread row: no other run can be created until this one is
                graph = self.graphs[assistant.graph_id]
                kwargs["command"]["resume"] = await commands.resume_answers(conn, graph, thread_id, kwargs)
            return await store.create_run(
                conn,
                thread_id=thread_id,
                assistant_id=assistant.assistant_id,
                graph_id=assistant.graph_id,
                kwargs=kwargs,
                metadata=body.metadata or {},
                multitask_strategy=body.multitask_strategy,
                start=lease,
            )

    async def get(self, thread_id: uuid.UUID, run_id: uuid.UUID) -> Run:
        async with self.pool.connection() as conn:
            return await store.get_run(conn, run_id, thread_id)

    async def list_runs(self, thread_id: uuid.UUID, *, limit: int, offset: int, status: RunStatus | None) -> list[Run]:
        async with self.pool.connection() as conn:
            await store.get_thread(conn, thread_id)
            return await store.list_runs(conn, thread_id, limit=limit, offset=offset, status=status)

    async def delete(self, thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            await store.delete_run(conn, run_id, thread_id)

    async def cancel(self, thread_id: uuid.UUID, run_id: uuid.UUID, *, action: CancelAction, wait: bool) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            run = await store.get_run(conn, run_id, thread_id)
            if not await store.request_cancel(conn, run_id, action):
                raise Conflict(f"run {run_id} already ended ({run['status']}); nothing to cancel")
        if wait:
            await self.wait_for_end(run)

    async def wait_for_end(self, run: Run) -> None:
        async for _ in follow_batches(self.pool, self.notifier, run["run_id"], after=0, poll_s=self.settings.poll_s):
            pass

    async def final_values(self, run: Run) -> Any:
        """What `wait` and `join` return: the thread's values after the run (with `__interrupt__` when it
        stopped at one), or `__error__` if it failed. Read from the thread row the worker wrote at the end."""
        async with self.pool.connection() as conn:
            run = await store.get_run(conn, run["run_id"])
            thread = await store.get_thread(conn, run["thread_id"])
        if run["status"] in ("error", "timeout"):
            return {"__error__": {"error": run["status"], "message": run["error"]}}
        values = thread["values"] if thread["values"] is not None else {}
        pending = [item for items in thread["interrupts"].values() for item in items]
        if isinstance(values, dict) and pending:
            values["__interrupt__"] = pending
        return values

    async def outcome(self, run: Run) -> Any:
        """Wait for the run's end; then its final values (see `final_values`)."""
        await self.wait_for_end(run)
        return await self.final_values(run)

    def stream(self, run: Run, *, after: int, cancel_on_disconnect: bool) -> EventSourceResponse:
        return run_stream(
            self.pool,
            self.notifier,
            thread_id=run["thread_id"],
            run_id=run["run_id"],
            after=after,
            cancel_on_disconnect=cancel_on_disconnect,
            poll_s=self.settings.poll_s,
        )
