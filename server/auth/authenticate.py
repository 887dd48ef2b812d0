"""Authentication of every request, as LangGraph Server runs a `langgraph_sdk.Auth`'s `@auth.authenticate`.

The handler names the request parts it wants (`headers`, `authorization`, `request`, `path`, `method`,
`query_params`, `path_params`, `scope`, `scopes`, `user`); what it returns becomes the request's `User`
(`scope["user"]`, read by `server.deps`). `Auth.exceptions.HTTPException` answers with its status, detail and
headers (a 401 gains `WWW-Authenticate: Bearer` when the handler sets none). The meta routes stay open, as on
LangGraph Server: a load balancer's health checks and the API description (`/metrics` too unless
KEEL_METRICS_AUTH).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Collection
from typing import Any

from langgraph_sdk import Auth
from starlette.authentication import AuthCredentials
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth.identity import authenticated_user
from server.docs import DOCS_PATHS
from server.errors import KeelError

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/ok", "/health", "/ready", "/info", "/openapi.json", "/ui"}) | DOCS_PATHS
# keel's own pages (server/routes/ui.py) are static files: the API calls they make are authenticated.
OPEN_PREFIXES = ("/ui/",)
_PARAMETERS = frozenset(
    {"request", "headers", "authorization", "path", "method", "query_params", "path_params", "scope", "scopes", "user"}
)


class AuthCodeError(Exception):
    """The langgraph.json `auth` object cannot be run as written (found when it is loaded)."""


def check_authenticate(auth: Auth) -> None:
    """`AuthCodeError` unless `auth` has an `@auth.authenticate` handler keel can call."""
    handler = auth._authenticate_handler
    if handler is None:
        raise AuthCodeError("has no @auth.authenticate handler (every request needs one to name its user)")
    _parameters(handler)


@functools.cache
def _parameters(handler: Callable[..., Any]) -> frozenset[str]:
    """The request parts `handler` asks for; `AuthCodeError` for a required parameter keel cannot give."""
    parameters = inspect.signature(handler).parameters
    unknown = [
        name
        for name, parameter in parameters.items()
        if name not in _PARAMETERS
        and parameter.default is parameter.empty
        and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    ]
    if unknown:
        raise AuthCodeError(
            f"@auth.authenticate asks for {', '.join(unknown)}; it may ask for: {', '.join(sorted(_PARAMETERS))}"
        )
    return frozenset(parameters) & _PARAMETERS


class Authenticate:
    """Pure ASGI middleware running the authenticate handler on every request but `open_paths`, when the
    running app has an `auth` object (`auth_of(scope)`: the runtime's, known once the lifespan has started)."""

    def __init__(
        self, app: ASGIApp, auth_of: Callable[[Scope], Auth | None], open_paths: Collection[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self.auth_of = auth_of
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = self.auth_of(scope) if scope["type"] in ("http", "websocket") else None
        if auth is None or auth._authenticate_handler is None or self._open(scope):
            await self.app(scope, receive, send)
            return
        handler: Callable[..., Any] = auth._authenticate_handler
        try:
            arguments = _arguments(_parameters(handler), scope, receive)
            if inspect.iscoroutinefunction(handler):
                result = await handler(**arguments)
            else:
                result = await run_in_threadpool(handler, **arguments)
            user = authenticated_user(result)
        except Auth.exceptions.HTTPException as exc:
            await _refuse(scope, receive, send, exc.status_code, exc.detail, dict(exc.headers or {}))
            return
        except AssertionError as exc:  # `assert authorization` in the handler: these credentials do not pass
            await _refuse(scope, receive, send, 401, str(exc) or "Unauthorized", {})
            return
        except KeelError as exc:  # a result that names no user: the auth code's bug, logged for its author
            log.error("authentication failed on %s %s: %s", scope.get("method"), scope["path"], exc.detail)
            await _refuse(scope, receive, send, exc.status_code, exc.detail, {})
            return
        except Exception:
            log.exception("@auth.authenticate raised on %s %s", scope.get("method"), scope["path"])
            await _refuse(scope, receive, send, 500, "authentication failed; the server log has the details", {})
            return
        scope["user"] = user
        scope["auth"] = AuthCredentials(sorted(user.permissions))
        await self.app(scope, receive, send)

    def _open(self, scope: Scope) -> bool:
        # A CORS preflight carries no credentials; whatever answers it, it is not the API.
        path = scope["path"]
        return path in self.open_paths or path.startswith(OPEN_PREFIXES) or scope.get("method") == "OPTIONS"


def _arguments(wants: frozenset[str], scope: Scope, receive: Receive) -> dict[str, Any]:
    headers = dict(scope.get("headers") or [])
    parts: dict[str, Callable[[], Any]] = {
        "request": lambda: Request(scope, receive),
        "headers": lambda: headers,
        "authorization": lambda: (headers.get(b"authorization") or b"").decode("latin-1") or None,
        "path": lambda: scope["path"],
        "method": lambda: scope.get("method", "GET"),
        "query_params": lambda: QueryParams(scope.get("query_string") or b""),
        "path_params": lambda: scope.get("path_params") or {},
        "scope": lambda: scope,
        "scopes": lambda: [],
        "user": lambda: scope.get("user"),
    }
    return {name: parts[name]() for name in wants}


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, headers: dict[str, str]
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
        return
    if status == 401 and not any(name.lower() == "www-authenticate" for name in headers):
        headers["WWW-Authenticate"] = "Bearer"
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)
