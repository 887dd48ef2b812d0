"""Runs on a thread: create (background, stream, wait), get, list, join, join-stream, cancel, delete.
What each does is `server.services.runs`; a route reads the request and shapes the answer."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sse_starlette import EventSourceResponse

from server.deps import RunsDep
from server.errors import InvalidInput
from server.records import CancelAction, RunStatus
from server.routes.paging import LimitQuery, OffsetQuery
from server.routes.resources import SSE, WAITED, Run, RunSelected, ok, ok_list
from server.runs.request_body import STREAM_MODE_NAMES, RunCreate
from server.runs.sse import last_event_id
from server.services.runs import RUN_FIELDS, run_json

router = APIRouter(tags=["runs"])


@router.post("/threads/{thread_id}/runs", responses=ok(Run))
async def create_background(response: Response, thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> Any:
    run = await runs.create(thread_id, body)
    response.headers["Content-Location"] = f"/threads/{thread_id}/runs/{run['run_id']}"
    return run_json(run)


@router.post("/threads/{thread_id}/runs/stream", response_class=EventSourceResponse, responses=SSE)
async def create_stream(thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> EventSourceResponse:
    run = await runs.create(thread_id, body)
    return runs.stream(run, after=0, cancel_on_disconnect=body.on_disconnect == "cancel", created=True)


@router.post("/threads/{thread_id}/runs/wait", response_model=None, responses=WAITED)
async def create_wait(thread_id: uuid.UUID, body: RunCreate, runs: RunsDep) -> Response:
    run = await runs.create(thread_id, body)
    return runs.wait_response(run, cancel_on_disconnect=body.on_disconnect == "cancel")


@router.get("/threads/{thread_id}/runs", responses=ok_list(RunSelected))
async def list_runs(
    thread_id: uuid.UUID,
    runs: RunsDep,
    limit: LimitQuery = 10,
    offset: OffsetQuery = 0,
    status: RunStatus | None = None,
    select: Annotated[list[str] | None, Query(description="only these fields of each run")] = None,
) -> list[Any]:
    if unknown := sorted(set(select or ()) - RUN_FIELDS):
        fields = ", ".join(sorted(RUN_FIELDS))
        raise InvalidInput(f"select: unknown run field(s) {', '.join(unknown)}; fields: {fields}")
    listed = await runs.list_runs(thread_id, limit=limit, offset=offset, status=status)
    return [run_json(run, select) for run in listed]


@router.get("/threads/{thread_id}/runs/{run_id}", responses=ok(Run))
async def get_run(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep) -> Any:
    return run_json(await runs.get(thread_id, run_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep) -> None:
    await runs.delete(thread_id, run_id)


@router.get("/threads/{thread_id}/runs/{run_id}/join", response_model=None, responses=WAITED)
async def join(thread_id: uuid.UUID, run_id: uuid.UUID, runs: RunsDep, cancel_on_disconnect: bool = False) -> Response:
    run = await runs.get(thread_id, run_id)
    return runs.wait_response(run, cancel_on_disconnect=cancel_on_disconnect)


@router.get("/threads/{thread_id}/runs/{run_id}/stream", response_class=EventSourceResponse, responses=SSE)
async def join_stream(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    runs: RunsDep,
    cancel_on_disconnect: bool = False,
    stream_mode: Annotated[
        list[str] | None,
        Query(description="only the events of these modes (a subset of the run's), repeated or a JSON array"),
    ] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    modes = _stream_modes(stream_mode or [])
    run = await runs.get(thread_id, run_id)
    return runs.stream(
        run, after=last_event_id(last_event_id_header), cancel_on_disconnect=cancel_on_disconnect, stream_mode=modes
    )


def _stream_modes(values: list[str]) -> list[str]:
    """Repeated `stream_mode=` values, or one JSON array (how LangGraph Server's clients may send a list)."""
    modes: list[str] = []
    for value in filter(None, values):  # a client's unset parameter may come as `stream_mode=`
        parsed: Any = value
        if value.startswith("["):
            with contextlib.suppress(ValueError):  # not JSON after all: a mode name, checked below
                parsed = json.loads(value)
        modes.extend(parsed if isinstance(parsed, list) else [parsed])
    if unknown := [mode for mode in modes if mode not in STREAM_MODE_NAMES]:
        raise InvalidInput(f"stream_mode: unknown mode(s) {unknown}; modes: {', '.join(STREAM_MODE_NAMES)}")
    return modes


@router.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    status_code=202,
    response_model=None,
    responses={202: {"description": "Cancel requested (or the run had ended already)"}, **WAITED},
)
async def cancel(
    thread_id: uuid.UUID,
    run_id: uuid.UUID,
    runs: RunsDep,
    wait: bool = False,
    action: CancelAction = "interrupt",
) -> Response:
    """Ask the run to stop (202; a run that ended already is left as it is). With `wait`, 200 once the run
    has ended, with its final values, as `join` answers."""
    run = await runs.cancel(thread_id, run_id, action=action)
    if wait:
        return runs.wait_response(run)
    return Response(status_code=202)
