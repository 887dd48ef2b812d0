"""Stateless runs (`POST /runs`, `/runs/stream`, `/runs/wait`): a run on a thread of its own, made for it.

The thread is kept (`on_completion="keep"`) or its checkpoints are deleted when the run ends (the default,
`"delete"`); the run and its event log stay readable until the retention sweep.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse

from server.deps import RunsDep
from server.routes.resources import Run, ok
from server.runs.request_body import RunCreate
from server.services.runs import run_json, stateless

router = APIRouter(tags=["stateless runs"])


@router.post("/runs", responses=ok(Run))
async def create_background(response: Response, body: RunCreate, runs: RunsDep) -> Any:
    thread_id, body = stateless(body)
    run = await runs.create(thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/runs/stream", response_class=EventSourceResponse)
async def create_stream(body: RunCreate, runs: RunsDep) -> EventSourceResponse:
    thread_id, body = stateless(body)
    run = await runs.create(thread_id, body)
    return runs.stream(run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.post("/runs/wait")
async def create_wait(body: RunCreate, runs: RunsDep) -> Any:
    thread_id, body = stateless(body)
    return await runs.outcome(await runs.create(thread_id, body))
