"""The FastAPI application: `create_app()` wires the lifespan and one router per route group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from langgraph_sdk import Auth
from starlette.types import Scope

from server import __version__
from server.auth.authenticate import OPEN_PATHS, Authenticate
from server.cors import add_cors
from server.docs import router as docs_router
from server.errors import register_error_handlers
from server.graph_loading import LoadedGraphs
from server.host_guard import HostGuard, is_loopback
from server.input_guard import InputGuard, check_path_parameters
from server.json_bodies import JsonBodies
from server.openapi import install_openapi
from server.routes import (
    approvals,
    assistants,
    crons,
    health,
    metrics,
    runs,
    stateless_runs,
    store,
    thread_state,
    threads,
    tools,
    ui,
)
from server.runtime import Runtime, open_runtime
from server.settings import Settings
from server.user_app import UserRoutes, user_lifespan, user_operations


def _auth_of(scope: Scope) -> Auth | None:
    runtime = scope.get("state", {}).get("runtime")
    return runtime.auth if isinstance(runtime, Runtime) else None


def create_app(
    settings: Settings, database_url: str, graphs: LoadedGraphs | None = None, *, workers: int | None = None
) -> FastAPI:
    """An app bound to a resolved database URL (the CLI starts embedded PostgreSQL first if needed).

    `graphs` defaults to those in `settings.server.config`, loaded at start-up (then without their `http.app`,
    which is served only when the graphs are given); `workers` (default `KEEL_WORKERS`) is how many runs this
    process executes at once, 0 for an API-only process. `settings.server.host` is where it listens (the CLI
    sets it): on loopback, requests for other hosts are refused (`server.host_guard`).
    """

    user_app = graphs.sections.http_app if graphs is not None else None  # langgraph.json's `http.app`

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with (
            open_runtime(settings, database_url, graphs, workers=workers) as runtime,
            user_lifespan(user_app) as user_state,
        ):
            yield {**user_state, "runtime": runtime}  # `request.state.runtime`, read by `server.deps` only

    app = FastAPI(
        title="keel",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(check_path_parameters)],
        docs_url=None,  # keel's own pages, from packaged assets (server.docs)
        redoc_url=None,
    )
    register_error_handlers(app)
    install_openapi(app, user_operations(user_app))
    # The user's routes are authenticated only when langgraph.json's http.enable_custom_route_auth says so,
    # as on LangGraph Server: otherwise they sit outside keel's authentication.
    custom_route_auth = graphs is not None and bool(graphs.sections.http.get("enable_custom_route_auth"))
    open_paths = OPEN_PATHS | ({"/metrics"} if not settings.server.metrics_auth else set())
    # Added first, so it runs last, on keel's routes only: their bodies are JSON whatever the content type.
    app.add_middleware(JsonBodies, max_message_chars=settings.server.max_message_chars)
    if not custom_route_auth:
        app.add_middleware(Authenticate, auth_of=_auth_of, open_paths=open_paths)
    if user_app is not None:
        app.add_middleware(UserRoutes, user_app=user_app)
    if custom_route_auth:
        app.add_middleware(Authenticate, auth_of=_auth_of, open_paths=open_paths)
    # Added after those, so it runs before them: an oversized or unstorable request never reaches a route.
    app.add_middleware(
        InputGuard,
        max_body_bytes=settings.server.max_body_bytes,
        max_message_chars=settings.server.max_message_chars,
    )
    # Outside the input guard and authentication (a preflight is answered before them, a refusal carries CORS
    # headers), inside the host guard.
    add_cors(app, settings.server.cors_allow_origins)
    if is_loopback(settings.server.host):  # added last, so it runs first: a rebinding page gets nothing at all
        app.add_middleware(HostGuard, allowed=settings.server.allowed_hosts)
    # Matched in this order, route by route: the per-run requests first (no two groups share a path).
    app.include_router(runs.router)
    app.include_router(threads.router)
    app.include_router(thread_state.router)
    app.include_router(stateless_runs.router)
    app.include_router(crons.router)
    app.include_router(approvals.router)
    app.include_router(assistants.router)
    app.include_router(store.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(tools.router)
    app.include_router(ui.router)
    app.include_router(docs_router)
    return app
