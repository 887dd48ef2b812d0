"""FastAPI dependencies: what the lifespan opened (one `Runtime`, in the request state), as typed `Annotated`
aliases. Routes take these and nothing else from the request.
(`async def`: FastAPI would run a plain `def` dependency in its thread pool, a thread hop per request.)

async def route(pool: PoolDep, graphs: GraphsDep) -> ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.base import BaseStore

from server.auth.access import Access
from server.auth.identity import ANONYMOUS, User
from server.db.pool import Pool
from server.graph_loading import LoadedGraphs
from server.runs.notify import Notifier
from server.runs.worker import Worker
from server.runtime import Runtime
from server.services.crons import CronService
from server.services.runs import RunService
from server.settings import Settings


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


async def get_pool(request: Request) -> Pool:
    return runtime_of(request).pool


async def get_saver(request: Request) -> AsyncPostgresSaver:
    return runtime_of(request).saver


async def get_graphs(request: Request) -> LoadedGraphs:
    return runtime_of(request).graphs


async def get_app_settings(request: Request) -> Settings:
    return runtime_of(request).settings


async def get_worker(request: Request) -> Worker | None:
    return runtime_of(request).worker


async def get_notifier(request: Request) -> Notifier:
    return runtime_of(request).notifier


async def get_store(request: Request) -> BaseStore:
    return runtime_of(request).store


def user_of(request: Request) -> User:
    """The caller `server.auth.authenticate` named; anonymous when langgraph.json has no `auth`."""
    user = request.scope.get("user")
    return user if isinstance(user, User) else ANONYMOUS


async def get_access(request: Request) -> Access:
    return Access(user_of(request), runtime_of(request).auth)


async def get_runs(request: Request) -> RunService:
    runtime = runtime_of(request)
    headers = runtime.headers.configurable(request.headers)  # what `http.configurable_headers` lets through
    return RunService(
        runtime.pool,
        runtime.graphs,
        runtime.notifier,
        runtime.worker,
        runtime.settings.runs,
        headers=headers,
        access=Access(user_of(request), runtime.auth),
    )


async def get_crons(request: Request) -> CronService:
    runtime = runtime_of(request)
    return CronService(runtime.pool, runtime.graphs, Access(user_of(request), runtime.auth))


PoolDep = Annotated[Pool, Depends(get_pool)]
SaverDep = Annotated[AsyncPostgresSaver, Depends(get_saver)]
GraphsDep = Annotated[LoadedGraphs, Depends(get_graphs)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
WorkerDep = Annotated[Worker | None, Depends(get_worker)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
RunsDep = Annotated[RunService, Depends(get_runs)]
CronsDep = Annotated[CronService, Depends(get_crons)]
StoreDep = Annotated[BaseStore, Depends(get_store)]
AccessDep = Annotated[Access, Depends(get_access)]
