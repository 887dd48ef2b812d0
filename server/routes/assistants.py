"""Assistants: `/assistants` (create, search, count, get, patch, delete, versions, latest) and a graph's
`/graph`, `/schemas` and `/subgraphs`. Every loaded graph is an assistant; see
`server.services.assistants`."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import Field

from server.deps import AccessDep, GraphsDep, PoolDep, RunsDep, SaverDep
from server.errors import NotFound
from server.routes.paging import Limit, Offset
from server.routes.resources import Assistant, AssistantSelected, AssistantVersion, ok, ok_list
from server.runs.request_body import LenientBody, RunnableConfig
from server.services import assistants as service
from server.services import graph_schemas
from server.services.access import thread_filters
from server.services.assistant_versions import version_json
from server.services.threads import thread_ids_with_metadata

router = APIRouter(prefix="/assistants", tags=["assistants"])

Version = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]  # the column is a PostgreSQL integer


class AssistantCreate(LenientBody):
    graph_id: str
    assistant_id: UUID | None = None
    config: RunnableConfig = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"
    name: str = "Untitled"
    description: str | None = None


class AssistantPatch(LenientBody):
    graph_id: str | None = None
    config: RunnableConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None


class AssistantSearch(LenientBody):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: service.SortBy = "created_at"
    sort_order: service.SortOrder = "desc"
    select: list[str] | None = None


class AssistantVersionsSearch(LenientBody):
    metadata: dict[str, Any] | None = Field(default=None, description="versions whose metadata contains this")
    limit: Limit = 10
    offset: Offset = 0


class AssistantVersionChange(LenientBody):
    version: Version | None = Field(default=None, description="the stored version to make current")


class AssistantCount(LenientBody):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None


@router.post("", responses=ok(Assistant))
async def create_assistant(
    body: AssistantCreate, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    async with pool.connection() as conn:
        row = await service.create_assistant(conn, graphs, **body.model_dump(), access=access)
    return service.assistant_json(row)


@router.post("/search", responses=ok_list(AssistantSelected))
async def search_assistants(
    body: AssistantSearch, response: Response, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> list[dict[str, Any]]:
    filters = body.model_dump(exclude={"select"})
    async with pool.connection() as conn:
        rows, more = await service.search_assistants(conn, graphs, access=access, **filters)
    if more:
        response.headers["X-Pagination-Next"] = str(body.offset + body.limit)
    return [service.assistant_json(row, body.select) for row in rows]


@router.post("/count")
async def count_assistants(body: AssistantCount, pool: PoolDep, graphs: GraphsDep, access: AccessDep) -> int:
    async with pool.connection() as conn:
        return await service.count_assistants(conn, graphs, access=access, **body.model_dump())


@router.get("/{assistant_id}", responses=ok(Assistant))
async def get_assistant(assistant_id: str, pool: PoolDep, graphs: GraphsDep, access: AccessDep) -> dict[str, Any]:
    async with pool.connection() as conn:
        return service.assistant_json(await service.get_assistant(conn, graphs, assistant_id, access=access))


@router.patch("/{assistant_id}", responses=ok(Assistant))
async def patch_assistant(
    assistant_id: str, body: AssistantPatch, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    async with pool.connection() as conn:
        row = await service.update_assistant(conn, graphs, assistant_id, body.model_dump(exclude_unset=True), access)
    return service.assistant_json(row)


@router.post("/{assistant_id}/versions", responses=ok_list(AssistantVersion))
async def list_assistant_versions(
    assistant_id: str,
    pool: PoolDep,
    graphs: GraphsDep,
    access: AccessDep,
    body: AssistantVersionsSearch | None = None,
) -> list[dict[str, Any]]:
    """The assistant's stored versions, newest first (404 when none matches, as on LangGraph Server)."""
    search = body or AssistantVersionsSearch()
    async with pool.connection() as conn:
        rows = await service.list_versions(conn, graphs, assistant_id, **search.model_dump(), access=access)
    return [version_json(row) for row in rows]


@router.post("/{assistant_id}/latest", responses=ok(Assistant))
async def set_latest_assistant_version(
    assistant_id: str, body: AssistantVersionChange, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    """Make a stored version the assistant's current configuration."""
    async with pool.connection() as conn:
        row = await service.set_latest_version(conn, graphs, assistant_id, body.version, access)
    return service.assistant_json(row)


@router.delete("/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: str,
    pool: PoolDep,
    graphs: GraphsDep,
    saver: SaverDep,
    runs: RunsDep,
    access: AccessDep,
    delete_threads: bool = False,
) -> None:
    """Delete the assistant and interrupt its active runs (as LangGraph Server does); with
    `delete_threads=true` also every thread whose `metadata.assistant_id` is this assistant (with its runs
    and checkpoints). Under auth, only the runs and threads the caller may change and delete."""
    async with pool.connection() as conn:
        uid = await service.delete_assistant(conn, graphs, assistant_id, access)
    await runs.stop_runs(assistant_id=str(uid))
    if delete_threads:
        filters = await thread_filters(access, "delete", {"metadata": {}})
        async with pool.connection() as conn:
            thread_ids = await thread_ids_with_metadata(conn, {"assistant_id": str(uid)}, auth=filters)
        for thread_id in thread_ids:
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await runs.delete_thread(thread_id, saver)


@router.get("/{assistant_id}/graph")
async def get_assistant_graph(
    assistant_id: str, pool: PoolDep, graphs: GraphsDep, access: AccessDep, xray: str = "false"
) -> dict[str, Any]:
    graph_id = await _graph_id(pool, graphs, access, assistant_id)
    return graph_schemas.graph_drawing(graphs.entry(graph_id).graph, graph_schemas.parse_xray(xray))


@router.get("/{assistant_id}/schemas")
async def get_assistant_schemas(
    assistant_id: str, pool: PoolDep, graphs: GraphsDep, access: AccessDep
) -> dict[str, Any]:
    graph_id = await _graph_id(pool, graphs, access, assistant_id)
    return graph_schemas.graph_schemas(graph_id, graphs.entry(graph_id).graph)


@router.get("/{assistant_id}/subgraphs")
@router.get("/{assistant_id}/subgraphs/{namespace}")
async def get_assistant_subgraphs(
    assistant_id: str,
    pool: PoolDep,
    graphs: GraphsDep,
    access: AccessDep,
    namespace: str | None = None,
    recurse: bool = False,
) -> dict[str, Any]:
    graph_id = await _graph_id(pool, graphs, access, assistant_id)
    return graph_schemas.subgraph_schemas(graph_id, graphs.entry(graph_id).graph, namespace, recurse)


async def _graph_id(pool: PoolDep, graphs: GraphsDep, access: AccessDep, assistant_id: str) -> str:
    async with pool.connection() as conn:
        row = await service.get_assistant(conn, graphs, assistant_id, access=access)
    graph_id: str = row["graph_id"]
    return graph_id
