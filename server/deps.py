"""FastAPI dependencies: what the lifespan put in the request state, as typed `Annotated` aliases.
(`async def`: FastAPI would run a plain `def` dependency in its thread pool, a thread hop per request.)

async def route(pool: PoolDep, graphs: GraphsDep) -> ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from server.db.pool import Pool
from server.graph_loading import LoadedGraphs
from server.settings import Settings


async def get_pool(request: Request) -> Pool:
    pool: Pool = request.state.pool
    return pool


async def get_saver(request: Request) -> AsyncPostgresSaver:
    saver: AsyncPostgresSaver = request.state.saver
    return saver


async def get_graphs(request: Request) -> LoadedGraphs:
    graphs: LoadedGraphs = request.state.graphs
    return graphs


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


PoolDep = Annotated[Pool, Depends(get_pool)]
SaverDep = Annotated[AsyncPostgresSaver, Depends(get_saver)]
GraphsDep = Annotated[LoadedGraphs, Depends(get_graphs)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
