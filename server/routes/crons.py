"""Crons (`client.crons.*`): a schedule that creates a run each time it is due, on a thread or stateless.
What each does is `server.services.crons`; a route reads the request and shapes the answer."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from server.crons.request_body import CronCreate, CronPatch
from server.crons.store import CronSortBy
from server.deps import CronsDep
from server.routes.paging import Limit, Offset
from server.routes.resources import Cron, CronSelected, ok, ok_list
from server.runs.request_body import LenientBody
from server.services.crons import cron_json

router = APIRouter(tags=["crons"])


class CronCount(LenientBody):
    assistant_id: str | None = None
    thread_id: uuid.UUID | None = None
    metadata: dict[str, Any] | None = None


class CronSearch(CronCount):
    enabled: bool | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: CronSortBy = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"
    select: list[str] | None = Field(default=None, description="only these fields of each cron")


@router.post("/threads/{thread_id}/runs/crons", responses=ok(Cron))
async def create_for_thread(thread_id: uuid.UUID, body: CronCreate, crons: CronsDep) -> Any:
    """A cron whose runs run on this thread (404 for an unknown thread)."""
    return cron_json(await crons.create(body, thread_id))


@router.post("/runs/crons", responses=ok(Cron))
async def create(body: CronCreate, crons: CronsDep) -> Any:
    """A stateless cron: each run gets a new thread, deleted when it ends unless `on_run_completed="keep"`."""
    return cron_json(await crons.create(body))


@router.post("/runs/crons/search", responses=ok_list(CronSelected))
async def search(body: CronSearch, crons: CronsDep) -> list[Any]:
    return await crons.search(
        assistant_id=body.assistant_id,
        thread_id=body.thread_id,
        enabled=body.enabled,
        metadata=body.metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
        select=body.select,
    )


@router.post("/runs/crons/count", responses=ok(int))
async def count(body: CronCount, crons: CronsDep) -> int:
    return await crons.count(assistant_id=body.assistant_id, thread_id=body.thread_id, metadata=body.metadata)


@router.get("/runs/crons/{cron_id}", responses=ok(Cron))
async def get(cron_id: uuid.UUID, crons: CronsDep) -> Any:
    return cron_json(await crons.get(cron_id))


@router.patch("/runs/crons/{cron_id}", responses=ok(Cron))
async def patch(cron_id: uuid.UUID, body: CronPatch, crons: CronsDep) -> Any:
    """Change the given fields (400 for an empty body); a new schedule counts the next run from now."""
    return cron_json(await crons.patch(cron_id, body))


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete(cron_id: uuid.UUID, crons: CronsDep) -> None:
    await crons.delete(cron_id)
