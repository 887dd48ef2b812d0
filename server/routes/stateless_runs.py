"""Stateless runs (`POST /runs`, `/runs/stream`, `/runs/wait`, `/runs/batch`): a run on a thread of its own,
made for it; and `POST /runs/cancel`, which cancels runs on any thread.

The thread is kept (`on_completion="keep"`) or its checkpoints are deleted when the run ends (the default,
`"delete"`); the run and its event log stay readable until the retention sweep.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import model_validator
from sse_starlette import EventSourceResponse

from server.deps import RunsDep
from server.records import CancelAction
from server.routes.resources import SSE, WAITED, Run, ok, ok_list
from server.runs.request_body import LenientBody, RunCreate
from server.services.runs import run_json, stateless

router = APIRouter(tags=["stateless runs"])


class RunsCancel(LenientBody):
    """Which runs to cancel: the given runs of one thread, or every active run in a status."""

    status: Literal["pending", "running", "all"] | None = None
    thread_id: uuid.UUID | None = None
    run_ids: list[uuid.UUID] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> RunsCancel:
        if self.status is not None and (self.thread_id is not None or self.run_ids is not None):
            raise ValueError("give either status, or thread_id and run_ids: status cancels runs on every thread")
        if self.status is None and (self.thread_id is None or self.run_ids is None):
            raise ValueError("give status, or both thread_id and run_ids")
        return self


@router.post("/runs", responses=ok(Run))
async def create_background(response: Response, body: RunCreate, runs: RunsDep) -> Any:
    thread_id, body = stateless(body)
    run = await runs.create(thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/runs/batch", responses=ok_list(Run))
async def create_batch(
    body: Annotated[list[RunCreate], Body(min_length=1, description="stateless runs to create")], runs: RunsDep
) -> list[Any]:
    """Create stateless background runs, in order; each is created as `POST /runs` creates one, and all in one
    transaction: a refused one refuses the batch, and none is created."""
    return [run_json(run) for run in await runs.create_batch([stateless(each) for each in body])]


@router.post("/runs/stream", response_class=EventSourceResponse, responses=SSE)
async def create_stream(body: RunCreate, runs: RunsDep) -> EventSourceResponse:
    thread_id, body = stateless(body)
    run = await runs.create(thread_id, body)
    return runs.stream(run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel", created=True)


@router.post("/runs/wait", response_model=None, responses=WAITED)
async def create_wait(body: RunCreate, runs: RunsDep) -> Response:
    thread_id, body = stateless(body)
    run = await runs.create(thread_id, body)
    return runs.wait_response(run, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.post("/runs/cancel", status_code=204, response_model=None)
async def cancel_runs(body: RunsCancel, runs: RunsDep, action: CancelAction = "interrupt") -> None:
    """Cancel the given runs of a thread (404 unless each is on it; one that ended is left as it is), or
    every pending and/or running run (`status`)."""
    await runs.cancel_many(action=action, thread_id=body.thread_id, run_ids=body.run_ids, status=body.status)
