"""Thread state: `/threads/{id}/state` (latest, at a checkpoint, update) and `/history`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from server.deps import GraphsDep, PoolDep
from server.graphs import Graph, LoadedGraphs
from server.routes.paging import Limit, LimitQuery
from server.services import state as service

SelectQuery = Annotated[list[str] | None, Query()]
router = APIRouter(prefix="/threads/{thread_id}", tags=["thread state"])


class CheckpointIn(BaseModel):
    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class StateAtCheckpoint(BaseModel):
    checkpoint: CheckpointIn
    subgraphs: bool = False
    select: list[str] | None = None


class StateUpdate(BaseModel):
    values: dict[str, Any] | list[dict[str, Any]] | None
    as_node: str | None = None
    checkpoint: CheckpointIn | None = None
    checkpoint_id: str | None = None


class HistoryQuery(BaseModel):
    limit: Limit = 10
    before: str | CheckpointIn | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointIn | None = None
    select: list[str] | None = None


async def _graph(pool: PoolDep, graphs: LoadedGraphs, thread_id: UUID) -> Graph | None:
    async with pool.connection() as conn:
        _row, graph = await service.thread_graph(conn, graphs, thread_id)
    return graph


@router.get("/state")
async def get_state(
    thread_id: UUID,
    pool: PoolDep,
    graphs: GraphsDep,
    subgraphs: bool = False,
    select: SelectQuery = None,
) -> dict[str, Any]:
    graph = await _graph(pool, graphs, thread_id)
    return service.select_fields(await service.read_state(graph, thread_id, None, subgraphs=subgraphs), select)


@router.get("/state/{checkpoint_id}")
async def get_state_at(
    thread_id: UUID,
    checkpoint_id: str,
    pool: PoolDep,
    graphs: GraphsDep,
    subgraphs: bool = False,
    select: SelectQuery = None,
) -> dict[str, Any]:
    graph = await _graph(pool, graphs, thread_id)
    state = await service.read_state(graph, thread_id, {"checkpoint_id": checkpoint_id}, subgraphs=subgraphs)
    return service.select_fields(state, select)


@router.post("/state/checkpoint")
async def post_state_at(thread_id: UUID, body: StateAtCheckpoint, pool: PoolDep, graphs: GraphsDep) -> dict[str, Any]:
    graph = await _graph(pool, graphs, thread_id)
    checkpoint = body.checkpoint.model_dump()
    state = await service.read_state(graph, thread_id, checkpoint, subgraphs=body.subgraphs)
    return service.select_fields(state, body.select)


@router.post("/state")
async def update_state(thread_id: UUID, body: StateUpdate, pool: PoolDep, graphs: GraphsDep) -> dict[str, Any]:
    """Write `values` as node `as_node` (a new checkpoint); answers `{"checkpoint": {...}}`."""
    checkpoint = body.checkpoint.model_dump() if body.checkpoint else None
    if body.checkpoint_id:
        checkpoint = {**(checkpoint or {}), "checkpoint_id": body.checkpoint_id}
    return await service.update_state(
        pool, graphs, thread_id, values=body.values, as_node=body.as_node, checkpoint=checkpoint
    )


@router.post("/history")
async def post_history(thread_id: UUID, body: HistoryQuery, pool: PoolDep, graphs: GraphsDep) -> list[dict[str, Any]]:
    graph = await _graph(pool, graphs, thread_id)
    before = body.before.model_dump() if isinstance(body.before, CheckpointIn) else body.before
    states = await service.read_history(
        graph,
        thread_id,
        limit=body.limit,
        before=before,
        metadata=body.metadata,
        checkpoint=body.checkpoint.model_dump() if body.checkpoint else None,
    )
    return [service.select_fields(state, body.select) for state in states]


@router.get("/history")
async def get_history(
    thread_id: UUID,
    pool: PoolDep,
    graphs: GraphsDep,
    limit: LimitQuery = 10,
    before: str | None = None,
) -> list[dict[str, Any]]:
    graph = await _graph(pool, graphs, thread_id)
    return await service.read_history(graph, thread_id, limit=limit, before=before, metadata=None, checkpoint=None)
