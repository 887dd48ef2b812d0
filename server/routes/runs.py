"""Runs on a thread: create (background, stream, wait), get, list, join, join-stream, cancel, delete.
What each does is `server.services.runs`; a route reads the request and shapes the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from sse_starlette import EventSourceResponse

from server.deps import RunsDep
from server.records import CancelAction, RunStatus
from server.routes.paging import LimitQuery, OffsetQuery
from server.routes.resources import Run, ok, ok_list
from server.runs.request_body import RunCreate
from server.runs.sse import last_event_id
from server.services.runs import run_json

router = APIRouter(tags=["runs"])


@router.post("/threads/{thread_id}/runs", responses=ok(Run))
async def create_background(response: Response, thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> Any:
    run = await runs.create(thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/threads/{thread_id}/runs/stream", response_class=EventSourceResponse)
async def create_stream(thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> EventSourceResponse:
    run = await runs.create(thread_id, body)
    return runs.stream(run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.post("/threads/{thread_id}/runs/wait")
async def create_wait(thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> Any:
    return await runs.outcome(await runs.create(thread_id, body))


@router.get("/threads/{thread_id}/runs", responses=ok_list(Run))
async def list_runs(
    thread_id: uuid.UUID,
    runs: RunsDep,
    limit: LimitQuery = 10,
    offset: OffsetQuery = 0,
    status: RunStatus | None = None,
) -> list[Any]:
    return [run_json(run) for run in await runs.list_runs(thread_id, limit=limit, offset=offset, status=status)]


@router.get("/threads/{thread_id}/runs/{run_id}", responses=ok(Run))
async def get_run(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep) -> Any:
    return run_json(await runs.get(thread_id, run_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep) -> None:
    await runs.delete(thread_id, run_id)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep) -> Any:
    return await runs.outcome(await runs.get(thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream", response_class=EventSourceResponse)
async def join_stream(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    runs: RunsDep,
    cancel_on_disconnect: bool = False,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    run = await runs.get(thread_id, run_id)
    return runs.stream(run, after=last_event_id(last_event_id_header), cancel_on_disconnect=cancel_on_disconnect)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    runs: RunsDep,
    wait: bool = False,
    action: CancelAction = "interrupt",
) -> Any:
    await runs.cancel(thread_id, run_id, action=action, wait=wait)
    return None
