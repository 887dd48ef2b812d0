"""`GET /metrics`: this process's Prometheus metrics, with the database-wide gauges read at scrape time."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.deps import PoolDep
from server.observability.metrics import REGISTRY
from server.services.metrics import refresh_database_gauges

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=PlainTextResponse)
async def scrape(pool: PoolDep) -> Response:
    await refresh_database_gauges(pool)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
