"""Runs on a thread: create (background, stream, wait), get, list, join, join-stream, cancel, delete.

Routes only write and read the runs table and the event log; workers (in this process or another) do
the running. So a run outlives the request that made it, and any API process can stream any run.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from sse_starlette import EventSourceResponse

from server.db.pool import Connection
from server.errors import Conflict
from server.graph_loading import Graph
from server.routes.paging import LimitQuery, OffsetQuery
from server.routes.resources import Run, ok, ok_list
from server.runs import store
from server.runs.events import follow_batches
from server.runs.request_body import RunCreate
from server.runs.sse import last_event_id, run_stream
from server.runs.worker import Worker
from server.serialize import to_json_compatible
from server.services import commands
from server.services.assistants import Assistant, resolve_assistant

router = APIRouter(tags=["runs"])


async def create(request: Request, thread_id: uuid.UUID, body: RunCreate) -> dict[str, Any]:
    state = request.state
    async with state.pool.connection() as conn:
        assistant = await resolve_assistant(conn, state.graphs, body.assistant_id)
        kwargs = body.run_kwargs()
        if "command" in kwargs:
            commands.check_shape(kwargs["command"], state.graphs[assistant.graph_id])
        kwargs["config"] = assistant.merged_config(kwargs.get("config"))
        if assistant.context or "context" in kwargs:
            kwargs["context"] = {**assistant.context, **(kwargs.get("context") or {})}
        if assistant.run_timeout_s is not None:
            kwargs["timeout_s"] = assistant.run_timeout_s
        # A free worker slot here starts the run here, without a claim (see store.insert_run).
        worker: Worker | None = state.worker
        lease = await worker.reserve() if worker is not None else None
        try:
            run = await _insert(conn, thread_id, body, assistant, kwargs, lease, state.graphs[assistant.graph_id])
        except BaseException:
            if worker is not None and lease is not None:
                worker.unreserve()
            raise
    if worker is not None and lease is not None:
        if run["status"] == "running":
            worker.run_reserved(run)
        else:
            worker.unreserve()  # queued behind the thread's active run: a worker claims it later
    return run


async def _insert(
    conn: Connection,
    thread_id: uuid.UUID,
    body: RunCreate,
    assistant: Assistant,
    kwargs: dict[str, Any],
    lease: store.Lease | None,
    graph: Graph,
) -> dict[str, Any]:
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


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    shown = {key: run[key] for key in ("run_id", "thread_id", "assistant_id", "status", "metadata")}
    shown |= {key: run[key] for key in ("multitask_strategy", "created_at", "updated_at", "attempt", "kwargs", "usage")}
    if run.get("error"):
        shown["error"] = run["error"]
    return to_json_compatible(shown)  # type: ignore[return-value]


async def final_values(request: Request, run: dict[str, Any]) -> Any:
    """What `wait` and `join` return: the thread's values after the run (with `__interrupt__` when it
    stopped at one), or `__error__` if it failed. Read from the thread row the worker wrote at the end."""
    async with request.state.pool.connection() as conn:
        run = await store.get_run(conn, run["run_id"])
        thread = await store.get_thread(conn, run["thread_id"])
    if run["status"] in ("error", "timeout"):
        return {"__error__": {"error": run["status"], "message": run["error"]}}
    values = thread["values"] if thread["values"] is not None else {}
    pending = [item for items in thread["interrupts"].values() for item in items]
    if isinstance(values, dict) and pending:
        values["__interrupt__"] = pending
    return values


async def wait_for_end(request: Request, run: dict[str, Any]) -> None:
    settings = request.state.settings.runs
    async for _ in follow_batches(
        request.state.pool, request.state.notifier, run["run_id"], after=0, poll_s=settings.poll_s
    ):
        pass


def stream(request: Request, run: dict[str, Any], *, after: int, cancel_on_disconnect: bool) -> EventSourceResponse:
    return run_stream(
        request.state.pool,
        request.state.notifier,
        thread_id=run["thread_id"],
        run_id=run["run_id"],
        after=after,
        cancel_on_disconnect=cancel_on_disconnect,
        poll_s=request.state.settings.runs.poll_s,
    )


@router.post("/threads/{thread_id}/runs", responses=ok(Run))
async def create_background(request: Request, response: Response, thread_id: uuid.UUID, body: RunCreate) -> Any:
    run = await create(request, thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/threads/{thread_id}/runs/stream", response_class=EventSourceResponse)
async def create_stream(request: Request, thread_id: uuid.UUID, body: RunCreate) -> EventSourceResponse:
    run = await create(request, thread_id, body)
    return stream(request, run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.post("/threads/{thread_id}/runs/wait")
async def create_wait(request: Request, thread_id: uuid.UUID, body: RunCreate) -> Any:
    run = await create(request, thread_id, body)
    await wait_for_end(request, run)
    return await final_values(request, run)


@router.get("/threads/{thread_id}/runs", responses=ok_list(Run))
async def list_runs(
    request: Request,
    thread_id: uuid.UUID,
    limit: LimitQuery = 10,
    offset: OffsetQuery = 0,
    status: store.RunStatus | None = None,
) -> list[Any]:
    async with request.state.pool.connection() as conn:
        await store.get_thread(conn, thread_id)
        runs = await store.list_runs(conn, thread_id, limit=limit, offset=offset, status=status)
    return [run_json(run) for run in runs]


@router.get("/threads/{thread_id}/runs/{run_id}", responses=ok(Run))
async def get_run(request: Request, thread_id: uuid.UUID, run_id: uuid.UUID) -> Any:
    async with request.state.pool.connection() as conn:
        return run_json(await store.get_run(conn, run_id, thread_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(request: Request, thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
    async with request.state.pool.connection() as conn, conn.transaction():
        run = await store.get_run(conn, run_id, thread_id)
        if run["status"] in store.ACTIVE:
            raise Conflict(f"run {run_id} is {run['status']}; cancel it before deleting it")
        await conn.execute("DELETE FROM keel.runs WHERE run_id = %s", (run_id,))


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join(request: Request, thread_id: uuid.UUID, run_id: uuid.UUID) -> Any:
    async with request.state.pool.connection() as conn:
        run = await store.get_run(conn, run_id, thread_id)
    await wait_for_end(request, run)
    return await final_values(request, run)


@router.get("/threads/{thread_id}/runs/{run_id}/stream", response_class=EventSourceResponse)
async def join_stream(
    request: Request,
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    cancel_on_disconnect: bool = False,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    async with request.state.pool.connection() as conn:
        run = await store.get_run(conn, run_id, thread_id)
    return stream(request, run, after=last_event_id(last_event_id_header), cancel_on_disconnect=cancel_on_disconnect)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel(
    request: Request,
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    wait: bool = False,
    action: store.CancelAction = "interrupt",
) -> Any:
    async with request.state.pool.connection() as conn, conn.transaction():
        run = await store.get_run(conn, run_id, thread_id)
        if not await store.request_cancel(conn, run_id, action):
            raise Conflict(f"run {run_id} already ended ({run['status']}); nothing to cancel")
    if wait:
        await wait_for_end(request, run)
    return None
