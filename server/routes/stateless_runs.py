"""Stateless runs (`POST /runs`, `/runs/stream`, `/runs/wait`): a run on a thread of its own, made for it.

The thread is kept (`on_completion="keep"`) or its checkpoints are deleted when the run ends (the default,
`"delete"`); the run and its event log stay readable until the retention sweep.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from server.routes.resources import Run, ok
from server.routes.runs import create, final_values, run_json, stream, wait_for_end
from server.runs.request_body import RunCreate

router = APIRouter(tags=["stateless runs"])


def _stateless(body: RunCreate) -> tuple[uuid.UUID, RunCreate]:
    update: dict[str, Any] = {"if_not_exists": "create"}
    if body.on_completion is None:
        update["on_completion"] = "delete"
    return uuid.uuid4(), body.model_copy(update=update)


@router.post("/runs", responses=ok(Run))
async def create_background(request: Request, response: Response, body: RunCreate) -> Any:
    thread_id, body = _stateless(body)
    run = await create(request, thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/runs/stream", response_class=EventSourceResponse)
async def create_stream(request: Request, body: RunCreate) -> EventSourceResponse:
    thread_id, body = _stateless(body)
    run = await create(request, thread_id, body)
    return stream(request, run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.post("/runs/wait")
async def create_wait(request: Request, body: RunCreate) -> Any:
    thread_id, body = _stateless(body)
    run = await create(request, thread_id, body)
    await wait_for_end(request, run)
    return await final_values(request, run)
