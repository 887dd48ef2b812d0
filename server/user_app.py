"""The user's own HTTP app (`langgraph.json` `http.app`, a Starlette or FastAPI app) served beside keel's routes.

As on LangGraph Server, the user's routes come first: a request one of them matches goes to the user's app, with
its own middleware, exception handlers and state, so a user route may shadow one of keel's; any other request
goes to keel's routes. keel's input guard (body size, unstorable text) runs before both. The user app's lifespan
runs inside keel's, and a FastAPI app's operations are listed in keel's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send


class UserRoutes:
    """Pure ASGI middleware sending what the user's routes match to the user's app."""

    def __init__(self, app: ASGIApp, user_app: Starlette) -> None:
        self.app = app
        self.user_app = user_app
        # A FastAPI app's own document and docs pages would shadow keel's, which list the user's operations too.
        docs = _docs_paths(user_app)
        self.routes = [route for route in user_app.routes if getattr(route, "path", None) not in docs]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self._matches(scope):
            await self.user_app(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _matches(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)


def _docs_paths(user_app: Starlette) -> set[str]:
    if not isinstance(user_app, FastAPI):
        return set()
    urls = (user_app.openapi_url, user_app.docs_url, user_app.redoc_url, user_app.swagger_ui_oauth2_redirect_url)
    return {url for url in urls if url}


@asynccontextmanager
async def user_lifespan(user_app: Starlette | None) -> AsyncIterator[dict[str, Any]]:
    """The user app's lifespan (its startup and shutdown), yielding the state it sets, if any."""
    if user_app is None:
        yield {}
        return
    async with user_app.router.lifespan_context(user_app) as state:
        yield dict(state or {})


def user_operations(user_app: Starlette | None) -> dict[str, Any]:
    """A FastAPI app's OpenAPI document (its paths and components), or an empty one: plain Starlette routes
    describe no operations."""
    if not isinstance(user_app, FastAPI):
        return {}
    return user_app.openapi()
