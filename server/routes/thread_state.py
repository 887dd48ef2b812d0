"""Thread state: `/threads/{id}/state` (latest, at a checkpoint, update) and `/history`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from server.auth.access import Access
from server.deps import AccessDep, GraphsDep, PoolDep
from server.errors import NotFound
from server.graph_loading import Graph, LoadedGraphs
from server.routes.paging import Limit, LimitQuery
from server.routes.resources import CheckpointAnswer, ThreadState, ThreadStateSelected, ok, ok_list
from server.runs.request_body import LenientBody
from server.services import state as service

SelectQuery = Annotated[list[str] | None, Query()]
router = APIRouter(prefix="/threads/{thread_id}", tags=["thread state"])


class CheckpointIn(BaseModel):
    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class StateAtCheckpoint(LenientBody):
    checkpoint: CheckpointIn
    subgraphs: bool = False
    select: list[str] | None = None


class StateUpdate(LenientBody):
    values: dict[str, Any] | list[dict[str, Any]] | None
    as_node: str | None = None
    checkpoint: CheckpointIn | None = None
    checkpoint_id: str | None = None
    discard_interrupts: bool = Field(
        default=False, description="keel: drop the interrupts the thread waits on (recorded in the checkpoint)"
    )


class HistoryQuery(LenientBody):
    limit: Limit = 10
    before: str | CheckpointIn | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointIn | None = None
    select: list[str] | None = None


@contextmanager
def _known_namespace(thread_id: UUID) -> Iterator[None]:
    """A `checkpoint_ns` naming no subgraph: LangGraph raises a bare ValueError, which is the caller's mistake."""
    try:
        yield
    except ValueError as exc:
        if not re.fullmatch(r"Subgraph .* not found", str(exc), flags=re.DOTALL):
            raise
        raise NotFound(f"thread {thread_id}: checkpoint_ns names no subgraph of its graph ({exc})") from None


async def _graph(pool: PoolDep, graphs: LoadedGraphs, access: Access, thread_id: UUID) -> Graph | None:
    async with pool.connection() as conn:
        _row, graph = await service.thread_graph(conn, graphs, access, thread_id)
    return graph


@router.get("/state", responses=ok(ThreadStateSelected))
async def get_state(
    thread_id: UUID,
    pool: PoolDep,
    graphs: GraphsDep,
    access: AccessDep,
    subgraphs: bool = False,
    select: SelectQuery = None,
) -> dict[str, Any]:
    graph = await _graph(pool, graphs, access, thread_id)
    return service.select_fields(await service.read_state(graph, thread_id, None, subgraphs=subgraphs), select)


@router.get("/state/{checkpoint_id}", responses=ok(ThreadStateSelected))
async def get_state_at(
    thread_id: UUID,
    checkpoint_id: str,
    pool: PoolDep,
    graphs: GraphsDep,
    access: AccessDep,
    subgraphs: bool = False,
    select: SelectQuery = None,
) -> dict[str, Any]:
    graph = await _graph(pool, graphs, access, thread_id)
    state = await service.read_state(graph, thread_id, {"checkpoint_id": checkpoint_id}, subgraphs=subgraphs)
    return service.select_fields(state, select)


@router.post("/state/checkpoint", responses=ok(ThreadStateSelected))
async def post_state_at(
    thread_id: UUID, body: StateAtCheckpoint, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    graph = await _graph(pool, graphs, access, thread_id)
    checkpoint = body.checkpoint.model_dump()
    with _known_namespace(thread_id):
        state = await service.read_state(graph, thread_id, checkpoint, subgraphs=body.subgraphs)
    return service.select_fields(state, body.select)


@router.post("/state", responses=ok(CheckpointAnswer))
async def update_state(
    thread_id: UUID, body: StateUpdate, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    """Write `values` as node `as_node` (a new checkpoint); answers `{"checkpoint": {...}}`."""
    checkpoint = body.checkpoint.model_dump() if body.checkpoint else None
    if body.checkpoint_id:
        checkpoint = {**(checkpoint or {}), "checkpoint_id": body.checkpoint_id}
    with _known_namespace(thread_id):
        return await service.update_state(
            pool,
            graphs,
            access,
            thread_id,
            values=body.values,
            as_node=body.as_node,
            checkpoint=checkpoint,
            discard_interrupts=body.discard_interrupts,
        )


@router.post("/history", responses=ok_list(ThreadStateSelected))
async def post_history(
    thread_id: UUID, body: HistoryQuery, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> list[dict[str, Any]]:
    graph = await _graph(pool, graphs, access, thread_id)
    before = body.before.model_dump() if isinstance(body.before, CheckpointIn) else body.before
    with _known_namespace(thread_id):
        states = await service.read_history(
            graph,
            thread_id,
            limit=body.limit,
            before=before,
            metadata=body.metadata,
            checkpoint=body.checkpoint.model_dump() if body.checkpoint else None,
        )
    return [service.select_fields(state, body.select) for state in states]


@router.get("/history", responses=ok_list(ThreadState))
async def get_history(
    thread_id: UUID,
    pool: PoolDep,
    graphs: GraphsDep,
    access: AccessDep,
    limit: LimitQuery = 10,
    before: str | None = None,
) -> list[dict[str, Any]]:
    graph = await _graph(pool, graphs, access, thread_id)
    return await service.read_history(graph, thread_id, limit=limit, before=before, metadata=None, checkpoint=None)
