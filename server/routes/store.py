"""The store API (`/store/items`, `/store/items/search`, `/store/namespaces`), as LangGraph Server serves it:
the same store the graphs get as `runtime.store`. Bodies follow its schemas (unknown fields are ignored, as
there); `server.services.store` does the work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from server.deps import AccessDep, StoreDep
from server.errors import BadRequest
from server.routes.paging import MAX_LIMIT, Offset
from server.routes.resources import Item, ListNamespaceResponse, SearchItemsResponse, ok
from server.services import store as service

MAX_TTL_MINUTES = 100 * 365 * 24 * 60  # a century
MIN_TTL_MINUTES = 0.001  # 60 ms
router = APIRouter(prefix="/store", tags=["store"])

Labels = list[Annotated[str, Field(description="a label: non-empty, without periods")]]
StoreLimit = Annotated[int, Field(ge=0, le=MAX_LIMIT)]
_NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Success"}}


class StorePut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace: Labels = Field(description="the namespace path, e.g. ['memories', 'user-1']")
    key: str = Field(description="the item's key within the namespace")
    value: dict[str, Any] = Field(description="the item's data")
    index: Literal[False] | list[str] | None = Field(
        default=None, description="null: the store's index fields; false: do not index; or the fields to index"
    )
    # Bounded: the store writes it into an interval, which refuses a huge one and anything Python prints in
    # scientific notation (below 1e-4; both 500s schemathesis found); a negative one means nothing.
    ttl: float | None = Field(
        default=None,
        ge=MIN_TTL_MINUTES,
        le=MAX_TTL_MINUTES,
        description="minutes until the item expires; null: the store's default",
    )


class StoreDelete(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace: Labels = Field(default_factory=list)
    key: str


class StoreSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace_prefix: Labels | None = None
    filter: dict[str, Any] | None = Field(default=None, description="value fields to match (and $eq, $ne, $gt...)")
    limit: StoreLimit = 10
    offset: Offset = 0
    query: str | None = Field(default=None, description="natural-language search (needs store.index)")
    refresh_ttl: bool | None = None


class StoreNamespaces(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prefix: Labels | None = None
    suffix: Labels | None = None
    max_depth: Annotated[int, Field(ge=1, le=1000)] | None = None  # bounded: SQL takes it as an int4
    limit: StoreLimit = 100
    offset: Offset = 0


@router.put("/items", status_code=204, responses=_NO_CONTENT)
async def put_item(body: StorePut, store: StoreDep, access: AccessDep) -> Response:
    namespace = service.namespace_of(body.namespace)
    await service.put_item(store, access, namespace, body.key, body.value, index=body.index, ttl=body.ttl)
    return Response(status_code=204)


@router.get("/items", responses=ok(Item | None))
async def get_item(
    store: StoreDep,
    access: AccessDep,
    key: Annotated[str | None, Query(description="the item's key (required)")] = None,
    namespace: Annotated[str | None, Query(description="the namespace's labels joined by periods: a.b")] = None,
    refresh_ttl: bool | None = None,
) -> Any:
    item_namespace = service.dotted_namespace(namespace)
    if not key:
        raise BadRequest("Key is required")
    return await service.get_item(store, access, item_namespace, key, refresh_ttl=refresh_ttl)


@router.delete("/items", status_code=204, responses=_NO_CONTENT)
async def delete_item(body: StoreDelete, store: StoreDep, access: AccessDep) -> Response:
    await service.delete_item(store, access, service.namespace_of(body.namespace), body.key)
    return Response(status_code=204)


@router.post("/items/search", responses=ok(SearchItemsResponse))
async def search_items(body: StoreSearch, store: StoreDep, access: AccessDep) -> Any:
    return await service.search_items(
        store,
        access,
        service.namespace_of(body.namespace_prefix),
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
        query=body.query,
        refresh_ttl=body.refresh_ttl,
    )


@router.post("/namespaces", responses=ok(ListNamespaceResponse))
async def list_namespaces(body: StoreNamespaces, store: StoreDep, access: AccessDep) -> Any:
    return await service.list_namespaces(
        store,
        access,
        prefix=service.namespace_of(body.prefix) if body.prefix else None,
        suffix=service.namespace_of(body.suffix) if body.suffix else None,
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
