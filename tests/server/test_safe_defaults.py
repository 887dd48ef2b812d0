"""Safe defaults (issue 14, item 6): without `auth` keel warns and stays on loopback unless told otherwise, and on
loopback it answers only requests addressed to a loopback name (DNS rebinding)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.cli import CommandError, check_exposure
from server.host_guard import HostGuard, is_loopback, split_host
from server.settings import ServerSettings
from tests.process import KEEL, REPO
from tests.server.api_graphs import GRAPHS
from tests.server.conftest import KeelServer, write_graphs

SOURCE = (Path(__file__).parent / "api_graphs.py").read_text()


# --- where keel may listen without auth ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_addresses(host: str):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "keel.internal", "localhost.evil.example", "::2"])
def test_addresses_reachable_from_elsewhere(host: str):
    assert not is_loopback(host)


def test_without_auth_keel_warns_and_refuses_a_non_loopback_address(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="server.cli"):
        check_exposure("127.0.0.1", authenticated=False, allowed=False)
    assert "no auth section" in caplog.text
    with pytest.raises(CommandError, match=r"refusing to listen on 0\.0\.0\.0 .*--allow-unauthenticated"):
        check_exposure("0.0.0.0", authenticated=False, allowed=False)
    check_exposure("0.0.0.0", authenticated=False, allowed=True)


def test_with_auth_any_address_is_fine_and_nothing_is_said(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="server.cli"):
        check_exposure("0.0.0.0", authenticated=True, allowed=False)
    assert caplog.text == ""


def test_the_settings_behind_the_flags(monkeypatch: pytest.MonkeyPatch):
    assert ServerSettings().allow_unauthenticated is False
    assert ServerSettings().allowed_hosts == []
    monkeypatch.setenv("KEEL_ALLOW_UNAUTHENTICATED", "true")
    monkeypatch.setenv("KEEL_ALLOWED_HOSTS", "keel.example.com, proxy:8443")
    assert ServerSettings().allow_unauthenticated is True
    assert ServerSettings().allowed_hosts == ["keel.example.com", "proxy:8443"]


@pytest.mark.slow  # keel runs as a child process
def test_keel_serve_on_all_interfaces_without_auth_exits_2(tmp_path: Path):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*KEEL, "serve", "--host", "0.0.0.0"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "keel: refusing to listen on 0.0.0.0 without authentication" in done.stderr
    assert "--allow-unauthenticated" in done.stderr
    assert "langgraph.json has no auth section" in done.stderr, "the start-up warning comes first"
    assert not (tmp_path / ".keel").exists(), "refused before any database started"


# --- the Host guard on its own --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost:8000", ("localhost", "8000")),
        ("LocalHost", ("localhost", None)),
        ("[::1]:8000", ("[::1]", "8000")),
        ("[::1]", ("[::1]", None)),
        ("::1", ("[::1]", None)),
        ("evil.example:80", ("evil.example", "80")),
    ],
)
def test_host_values_split_into_host_and_port(value: str, expected: tuple[str, str | None]):
    assert split_host(value) == expected


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse("reached")


def guarded(allowed: list[str]) -> httpx.AsyncClient:
    app = HostGuard(Starlette(routes=[Route("/ok", _echo)]), allowed=allowed)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


@pytest.mark.parametrize(
    ("allowed", "host", "passes"),
    [
        ([], "localhost", True),
        ([], "localhost:8123", True),
        ([], "127.0.0.1:8000", True),
        ([], "[::1]:8000", True),
        ([], "evil.example", False),
        ([], "evil.example:8000", False),
        ([], "127.0.0.2:8000", False),  # not a default name: a page cannot rebind to it, but nobody needs it either
        ([], "localhost.evil.example", False),
        ([], "", False),
        (["keel.example.com"], "keel.example.com:443", True),
        (["keel.example.com"], "evil.example", False),
        (["proxy:8443"], "proxy:8443", True),
        (["proxy:8443"], "proxy:8444", False),
        (["*"], "anything.example", True),
    ],
)
async def test_the_guard_passes_allowed_hosts_only(allowed: list[str], host: str, passes: bool):
    async with guarded(allowed) as http:
        response = await http.get("/ok", headers={"host": host})
    if passes:
        assert (response.status_code, response.text) == (200, "reached")
    else:
        assert response.status_code == 421
        assert f"host {host!r} is not allowed" in response.json()["detail"]
        assert "KEEL_ALLOWED_HOSTS" in response.json()["detail"]


# --- keel on loopback, with a forged Host ---------------------------------------------------------------------------


@pytest.mark.slow  # keel runs as a child process
async def test_keel_on_loopback_refuses_a_rebinding_host_on_every_path(
    keel_server: Callable[..., KeelServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KEEL_ALLOWED_HOSTS", "keel.test")
    server = keel_server(write_graphs(tmp_path, SOURCE, GRAPHS))
    port = server.url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for method, path in [("GET", "/ok"), ("GET", "/health"), ("GET", "/ready"), ("POST", "/threads/search")]:
            forged = await http.request(method, path, headers={"host": f"attacker.example:{port}"}, json={})
            assert forged.status_code == 421, (path, forged.text)
            assert "'attacker.example:" in forged.json()["detail"] and "KEEL_ALLOWED_HOSTS" in forged.json()["detail"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"keel.test:{port}"):
            assert (await http.post("/threads/search", headers={"host": host}, json={})).status_code == 200
        created = await http.post("/threads", headers={"host": "attacker.example"}, json={})
        assert created.status_code == 421
        assert (await http.post("/threads/count", json={})).json() == 0, "the refused request created nothing"
