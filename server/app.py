"""The FastAPI application: `create_app()` wires the lifespan and one router per route group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from typing_extensions import TypedDict

from server import __version__
from server.db.migrate import upgrade
from server.db.pool import Pool, create_pool
from server.routes import health
from server.settings import Settings


class State(TypedDict):
    """What the lifespan hands to every request (`request.state`)."""

    settings: Settings
    pool: Pool
    saver: AsyncPostgresSaver


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """An app bound to a resolved database URL (the CLI starts embedded PostgreSQL first if needed)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        pool = create_pool(database_url, settings.database)
        await pool.open(wait=True, timeout=30)
        try:
            async with pool.connection() as conn:
                await upgrade(conn)
            saver = AsyncPostgresSaver(pool)
            yield {"settings": settings, "pool": pool, "saver": saver}
        finally:
            await pool.close()

    app = FastAPI(title="keel", version=__version__, lifespan=lifespan)
    app.include_router(health.router)
    return app
