"""Threads: create, get, search, count, patch (metadata merge), delete, copy.
State and history are in `server.routes.thread_state`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field
from sse_starlette import EventSourceResponse

from server.deps import AccessDep, PoolDep, RunsDep, SaverDep
from server.errors import BadRequest, InvalidInput
from server.records import ThreadTTL
from server.routes.paging import Limit, Offset
from server.routes.resources import SSE, Thread, ThreadPruneResult, ThreadSelected, ThreadStorage, ok, ok_list
from server.runs.request_body import LenientBody
from server.runs.thread_stream import THREAD_STREAM_MODES, ThreadStreamMode
from server.services import threads as service
from server.services.runs import PruneStrategy

router = APIRouter(prefix="/threads", tags=["threads"])


_MAX_TTL_MINUTES = 100 * 365 * 24 * 60  # a timestamp PostgreSQL can hold


class TTL(LenientBody):
    strategy: Literal["delete"] = Field(
        default="delete", description="delete: the thread, its runs and checkpoints (keep_latest: not in keel yet)"
    )
    ttl: float = Field(ge=0, le=_MAX_TTL_MINUTES, description="minutes from now until the thread is swept")

    def record(self) -> ThreadTTL:
        return {"strategy": self.strategy, "ttl": self.ttl}


_TTL_DESCRIPTION = "the thread expires this many minutes from now and is then deleted (not while a run is active on it)"


class ThreadCreate(LenientBody):
    thread_id: UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"
    supersteps: list[dict[str, Any]] | None = Field(default=None, description="not supported by keel yet")
    ttl: TTL | None = Field(default=None, description=_TTL_DESCRIPTION)


class ThreadSearch(LenientBody):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    ids: list[UUID] | None = None
    status: service.ThreadStatus | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: service.SortBy = "created_at"
    sort_order: service.SortOrder = "desc"
    select: list[str] | None = None
    extract: dict[str, str] | None = Field(default=None, description="not supported by keel yet")


class ThreadCount(LenientBody):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: service.ThreadStatus | None = None


class ThreadPatch(LenientBody):
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl: TTL | None = Field(default=None, description=_TTL_DESCRIPTION)


class ThreadPrune(LenientBody):
    thread_ids: list[UUID]
    strategy: PruneStrategy = Field(
        default="delete",
        description="delete: the threads, their runs and checkpoints (active runs are stopped first); "
        "keep_latest: only their older checkpoints, keeping each thread and its latest state",
    )


def _unsupported(**fields: object) -> None:
    for name, value in fields.items():
        if value:
            raise BadRequest(f"{name} is not supported by keel yet")


@router.post("", responses=ok(Thread))
async def create_thread(body: ThreadCreate, pool: PoolDep, access: AccessDep) -> dict[str, Any]:
    _unsupported(supersteps=body.supersteps)
    ttl = body.ttl.record() if body.ttl else None
    async with pool.connection() as conn:
        row = await service.create_thread(
            conn, access, thread_id=body.thread_id, metadata=body.metadata, if_exists=body.if_exists, ttl=ttl
        )
    return service.thread_json(row)


@router.post("/search", responses=ok_list(ThreadSelected))
async def search_threads(body: ThreadSearch, pool: PoolDep, access: AccessDep) -> list[dict[str, Any]]:
    _unsupported(extract=body.extract)
    async with pool.connection() as conn:
        rows = await service.search_threads(conn, access, **body.model_dump(exclude={"select", "extract"}))
    return [service.thread_json(row, body.select) for row in rows]


@router.post("/count")
async def count_threads(body: ThreadCount, pool: PoolDep, access: AccessDep) -> int:
    async with pool.connection() as conn:
        return await service.count_threads(conn, access, **body.model_dump())


@router.post("/prune", responses=ok(ThreadPruneResult))
async def prune_threads(body: ThreadPrune, runs: RunsDep, saver: SaverDep) -> dict[str, int]:
    """Prune threads by id, as LangGraph Server does; answers `{"pruned_count": n}`."""
    return {"pruned_count": await runs.prune_threads(body.thread_ids, body.strategy, saver)}


@router.get("/{thread_id}", responses=ok(Thread))
async def get_thread(
    thread_id: UUID,
    pool: PoolDep,
    access: AccessDep,
    include: Annotated[str | None, Query(description="extra fields, comma-separated: ttl (others are ignored)")] = None,
) -> dict[str, Any]:
    extra = {field.strip() for field in (include or "").split(",") if field.strip()}
    async with pool.connection() as conn:
        row = await service.get_thread(conn, access, thread_id)
    thread = service.thread_json(row)
    if "ttl" in extra:
        thread["ttl"] = service.ttl_json(row)
    return thread


@router.patch(
    "/{thread_id}", response_model=None, responses={**ok(Thread), 204: {"description": "Prefer: return=minimal"}}
)
async def patch_thread(
    thread_id: UUID,
    body: ThreadPatch,
    pool: PoolDep,
    access: AccessDep,
    prefer: Annotated[str | None, Header()] = None,
) -> dict[str, Any] | Response:
    """Merge `metadata` into the thread's. `Prefer: return=minimal` answers 204 with no body."""
    async with pool.connection() as conn:
        row = await service.patch_thread(
            conn, access, thread_id, body.metadata, body.ttl.record() if body.ttl else None
        )
    if prefer == "return=minimal":
        return Response(status_code=204)
    return service.thread_json(row)


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: UUID, runs: RunsDep, saver: SaverDep) -> None:
    """The thread, its runs and all its checkpoints. Its active runs are interrupted first, and the delete
    waits for them to end."""
    await runs.delete_thread(thread_id, saver)


@router.post("/{thread_id}/copy", responses=ok(Thread))
async def copy_thread(thread_id: UUID, pool: PoolDep, access: AccessDep) -> dict[str, Any]:
    """A new thread with this one's metadata, values and full checkpoint history."""
    async with pool.connection() as conn:
        return service.thread_json(await service.copy_thread(conn, access, thread_id))


@router.get("/{thread_id}/storage", responses=ok(ThreadStorage))
async def thread_storage(thread_id: UUID, pool: PoolDep, access: AccessDep) -> dict[str, Any]:
    """The bytes the thread's checkpoints take in PostgreSQL: checkpoints, channel values, pending writes."""
    async with pool.connection() as conn:
        return await service.thread_storage(conn, access, thread_id)


@router.get("/{thread_id}/stream", response_class=EventSourceResponse, responses=SSE)
async def join_thread_stream(
    thread_id: UUID,
    runs: RunsDep,
    stream_modes: Annotated[
        list[str] | None,
        Query(
            description="run_modes (every run event, the default), lifecycle (each run's metadata, error and end), "
            "state_update (accepted; keel publishes none); repeated or comma-separated"
        ),
    ] = None,
    stream_mode: Annotated[list[str] | None, Query(description="the same, as the SDKs name it")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """The events of the thread's runs, one run after the other, as they happen; open until the client
    leaves. `Last-Event-ID: -` replays the thread's earlier runs first."""
    given = [mode.strip() for value in [*(stream_modes or ()), *(stream_mode or ())] for mode in value.split(",")]
    modes = [mode for mode in given if mode] or ["run_modes"]
    if unknown := [mode for mode in modes if mode not in THREAD_STREAM_MODES]:
        raise InvalidInput(f"stream_modes: unknown mode(s) {unknown}; modes: {', '.join(THREAD_STREAM_MODES)}")
    return await runs.thread_stream(thread_id, modes=cast(list[ThreadStreamMode], modes), last_event_id=last_event_id)
