"""Liveness: `GET /ok` answers as soon as the app has started (database reachable, migrated)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}
