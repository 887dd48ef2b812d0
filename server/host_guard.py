"""The DNS-rebinding guard: when keel listens on loopback, it answers only requests addressed to a loopback name.

A web page the user opens can make their browser resolve its own domain to 127.0.0.1 and then call keel "as the
same origin": the browser sends that domain in the `Host` header. keel on loopback has no reason to answer any
name but `localhost`, `127.0.0.1` or `[::1]` (any port), plus `KEEL_ALLOWED_HOSTS` (a reverse proxy's public
name, or `*`). Every path is guarded, `/ok` `/health` `/ready` too: a rebinding page must not probe keel either.

`HostGuard` is pure ASGI middleware, like `server.input_guard`, and runs before everything else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_STATUS = 421  # Misdirected Request: this server does not answer for that authority


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach: `localhost`, 127.0.0.0/8 or ::1 (brackets allowed).
    Names are not resolved: any other name counts as reachable from outside."""
    bare = host.strip().lower().removeprefix("[").removesuffix("]")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, str | None]:
    """`Host` header value → (lower-cased host, port or None); an IPv6 host keeps its brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        return host + "]", rest.removeprefix(":") or None
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port or None
    if value.count(":") > 1:  # a bare IPv6 address, as KEEL_ALLOWED_HOSTS may spell it
        return f"[{value}]", None
    return value, None


class HostGuard:
    def __init__(self, app: ASGIApp, *, allowed: Iterable[str] = ()) -> None:
        self.app = app
        extra = [entry.strip() for entry in allowed if entry.strip()]
        self.any_host = "*" in extra
        # Each entry is a host (any port) or host:port (that port only).
        self.allowed = {split_host(entry) for entry in (*LOOPBACK_NAMES, *extra) if entry != "*"}

    def allows(self, value: str) -> bool:
        if self.any_host:
            return True
        host, port = split_host(value)
        return bool(host) and ((host, None) in self.allowed or (port is not None and (host, port) in self.allowed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = Headers(scope=scope).get("host", "")
        if self.allows(value):
            await self.app(scope, receive, send)
            return
        detail = (
            f"host {value!r} is not allowed: keel listens on loopback and answers only requests addressed to "
            f"{', '.join(LOOPBACK_NAMES)} (any port); add the host to KEEL_ALLOWED_HOSTS to allow it"
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        await JSONResponse({"detail": detail}, status_code=_STATUS)(scope, receive, send)
