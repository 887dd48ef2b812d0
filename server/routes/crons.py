"""Crons (`client.crons.*`): a schedule that creates a run each time it is due, on a thread or stateless.
What each does is `server.services.crons`; a route reads the request and shapes the answer."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from server.crons.request_body import CronCount, CronCreate, CronPatch, CronSearch
from server.deps import CronsDep
from server.routes.resources import Cron, CronSelected, ok, ok_list
from server.services.crons import cron_json

router = APIRouter(tags=["crons"])


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
    return await crons.search(body)


@router.post("/runs/crons/count", responses=ok(int))
async def count(body: CronCount, crons: CronsDep) -> int:
    return await crons.count(body)


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
