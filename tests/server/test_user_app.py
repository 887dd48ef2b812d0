"""langgraph.json's `http.app` beside keel's routes: the user's routes first (they may shadow keel's, as on
LangGraph Server), every other request to keel, the user's FastAPI docs never shadowing keel's document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.openapi import install_openapi
from server.user_app import UserRoutes, user_lifespan, user_operations


def keel_like() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/threads")
    def threads() -> list[str]:
        return ["keel"]

    @app.post("/threads")
    def create_thread() -> list[str]:
        return ["keel created"]

    return app


def users() -> FastAPI:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, list[str]]]:
        events.append("started")
        yield {"events": events}
        events.append("stopped")

    app = FastAPI(lifespan=lifespan)
    app.state.events = events

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "user"}

    @app.get("/threads")
    def threads() -> list[str]:
        return ["user"]

    return app


async def test_user_routes_come_first_and_everything_else_reaches_keel() -> None:
    keel, user = keel_like(), users()
    keel.add_middleware(UserRoutes, user_app=user)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keel), base_url="http://test") as http:
        assert (await http.get("/hello")).json() == {"hello": "user"}
        assert (await http.get("/threads")).json() == ["user"], "a user route shadows keel's, as on LangGraph Server"
        assert (await http.get("/ok")).json() == {"ok": True}
        assert (await http.post("/threads")).json() == ["keel created"], "a method the user's route lacks is keel's"
        document = (await http.get("/openapi.json")).json()
        assert "/ok" in document["paths"], "keel's document, not the user app's"


async def test_a_fastapi_apps_operations_join_keels_document_and_win_a_clash() -> None:
    keel, user = keel_like(), users()
    install_openapi(keel, user_operations(user))
    paths = keel.openapi()["paths"]
    assert set(paths) == {"/ok", "/threads", "/hello", "/docs"}  # FastAPI's /docs, listed as LangGraph Server does
    assert set(paths["/threads"]) == {"get", "post"}
    assert "413" not in paths["/threads"]["get"]["responses"], "the user's operation, not keel's (which may 413)"
    assert "413" in paths["/threads"]["post"]["responses"]
    starlette_app = Starlette(routes=[Route("/plain", lambda _: PlainTextResponse("hi"))])
    assert user_operations(starlette_app) == {}


async def test_the_user_apps_lifespan_runs_and_its_state_is_kept() -> None:
    user = users()
    async with user_lifespan(user) as state:
        assert state["events"] == ["started"]
    assert user.state.events == ["started", "stopped"]
    async with user_lifespan(None) as nothing:
        assert nothing == {}
