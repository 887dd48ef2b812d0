"""CORS (KEEL_CORS_ALLOW_ORIGINS): a browser page on another origin may call keel only when the operator names its
origin. Middleware only, so keel's app is driven in-process without its lifespan: a preflight and the meta routes
need no database."""

from __future__ import annotations

import httpx
import pytest

from server.app import create_app
from server.settings import Settings, SettingsError

CHAT = "http://chat.example:3000"
PREFLIGHT = {"origin": CHAT, "access-control-request-method": "POST"}


def keel(monkeypatch: pytest.MonkeyPatch, origins: str | None) -> httpx.AsyncClient:
    if origins is None:
        monkeypatch.delenv("KEEL_CORS_ALLOW_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("KEEL_CORS_ALLOW_ORIGINS", origins)
    app = create_app(Settings(), "postgresql://unused@127.0.0.1:1/none")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:8000")


async def test_unset_keel_sends_no_cors_headers_and_answers_no_preflight(monkeypatch: pytest.MonkeyPatch):
    async with keel(monkeypatch, None) as http:
        preflight = await http.options("/threads", headers=PREFLIGHT)
        info = await http.get("/info", headers={"origin": CHAT})
    assert preflight.status_code == 405
    assert info.status_code == 200
    assert not [name for name in (*preflight.headers, *info.headers) if name.startswith("access-control-")]


async def test_a_named_origin_gets_its_preflight_answered_and_may_read_the_headers_keel_sends(
    monkeypatch: pytest.MonkeyPatch,
):
    async with keel(monkeypatch, f"https://other.example, {CHAT}") as http:
        preflight = await http.options(
            "/threads/0b5a3c1e-3f34-4e8a-9d2a-0c9f6a8f4a10/runs/stream",
            headers={**PREFLIGHT, "access-control-request-headers": "content-type,x-api-key,x-auth-scheme"},
        )
        info = await http.get("/info", headers={"origin": CHAT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == CHAT
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-api-key", "x-auth-scheme"} <= allowed
    assert info.status_code == 200
    assert info.headers["access-control-allow-origin"] == CHAT
    exposed = {name.strip().lower() for name in info.headers["access-control-expose-headers"].split(",")}
    assert {"content-location", "location", "x-pagination-total", "x-pagination-next"} <= exposed


async def test_another_origin_gets_nothing_it_could_read(monkeypatch: pytest.MonkeyPatch):
    async with keel(monkeypatch, CHAT) as http:
        preflight = await http.options("/threads", headers={**PREFLIGHT, "origin": "https://evil.example"})
        info = await http.get("/info", headers={"origin": "https://evil.example"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in info.headers


async def test_any_origin_with_a_star_without_credentials(monkeypatch: pytest.MonkeyPatch):
    async with keel(monkeypatch, "*") as http:
        preflight = await http.options("/threads", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers


async def test_the_host_guard_still_comes_first(monkeypatch: pytest.MonkeyPatch):
    # A DNS-rebinding page is refused before CORS could answer for it, even from an allowed origin.
    async with keel(monkeypatch, "*") as http:
        preflight = await http.options("/threads", headers={**PREFLIGHT, "host": "attacker.example:8000"})
    assert preflight.status_code == 421
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("value", ["https://chat.example/", "chat.example", "https://chat.example/app", "ftp://x"])
def test_an_origin_keel_could_never_match_stops_start_up(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("KEEL_CORS_ALLOW_ORIGINS", value)
    with pytest.raises(SettingsError, match="KEEL_CORS_ALLOW_ORIGINS"):
        Settings()
