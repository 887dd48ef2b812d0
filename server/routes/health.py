"""Health: `GET /ok` and `GET /health` (liveness: the process answers), `GET /ready` (it can do its job);
and `GET /info` (what this server is, as LangGraph Server describes itself).

Ready means: the database answers, every migration keel ships is applied, and, in a process that runs
workers, its worker slots are alive. When not ready, 503 with the reason for each failed check."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import langgraph.version
import psycopg
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field

from server import __version__
from server.db.migrate import pending_versions
from server.deps import PoolDep, WorkerDep

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
_DATABASE_CHECK_S = 1.5  # a load balancer hears "not ready" well before its own probe times out


class Info(BaseModel):
    """`GET /info`, shaped as LangGraph Server's."""

    version: str = Field(description="keel's version")
    langgraph_py_version: str = Field(description="the LangGraph library's version")
    flags: dict[str, bool] = Field(description="which features this server has")
    metadata: dict[str, Any] = Field(description="deployment metadata (none for keel)")
    host: dict[str, Any] = Field(description="where it runs")


@router.get("/ok")
async def ok(
    pool: PoolDep,
    check_db: Annotated[bool, Query(description="1 (or true): check the database answers too")] = False,
) -> dict[str, bool]:
    """Liveness; with `check_db=1` the database must answer too (503 otherwise)."""
    if check_db:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    return {"ok": True}


@router.get("/info", response_model=Info)
async def info() -> Info:
    return Info(
        version=__version__,
        langgraph_py_version=langgraph.version.__version__,
        # Both LangGraph Server's flags and keel's answers for them: LangSmith is not in keel.
        flags={"assistants": True, "crons": True, "langsmith": False, "strict_resume": True},
        metadata={},
        host={"kind": "self-hosted", "server": "keel"},
    )


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(pool: PoolDep, worker: WorkerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    reasons: list[str] = []
    try:
        async with asyncio.timeout(_DATABASE_CHECK_S):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
                checks["database"] = "ok"
                pending = await pending_versions(conn)
        checks["migrations"] = "ok" if not pending else f"pending: {', '.join(f'{v:04d}' for v in pending)}"
        if pending:
            reasons.append(f"migrations not applied: {pending}")
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
        log.warning("not ready: database unreachable (%s)", exc)
        checks["database"] = f"unreachable: {type(exc).__name__}"
        why = pool.unreachable
        reasons.append(f"database unreachable ({why})" if why else "database unreachable")
    if worker is None:
        checks["workers"] = "none in this process (API only)"
    elif worker.alive():
        checks["workers"] = "ok"
    else:
        checks["workers"] = "stopped"
        reasons.append("worker slots are not running")
    body = {"status": "not ready" if reasons else "ready", "checks": checks}
    if reasons:
        body["reason"] = "; ".join(reasons)
    return JSONResponse(body, status_code=503 if reasons else 200)
