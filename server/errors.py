"""keel's domain errors and the one place that turns errors into HTTP responses.

Service code raises `NotFound`, `Conflict`, `BadRequest` or `InvalidInput` with a message written
for the API user; `register_error_handlers(app)` maps them to `{"detail": "<message>"}` with the
matching status. FastAPI's own request validation errors keep their per-field `detail` list and
gain a one-line `message` (the SDK shows `message` in its exceptions). Anything unexpected is
logged once with the request path (and thread/run/assistant id when the route has one) and
answered 500 `{"detail": "internal error ..."}`: no request gets a bare 500 page.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class KeelError(Exception):
    """Base of keel's API errors. `str()` / `detail` is the message shown to the API user."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(KeelError):
    """400: the request is well-formed but cannot be done as asked (e.g. no graph to update)."""

    status_code = 400


class Forbidden(KeelError):
    """403: the caller is known but may not do this (an auth handler's denial, a missing permission)."""

    status_code = 403


class NotFound(KeelError):
    """404: an unknown thread, assistant, run, checkpoint or graph."""

    status_code = 404


class Conflict(KeelError):
    """409: the resource exists already, or its current state forbids the request (busy thread)."""

    status_code = 409


class InvalidInput(KeelError):
    """422: a field value that passed the schema but is not valid for this resource."""

    status_code = 422


class TooManyRequests(KeelError):
    """429: the caller is over one of its limits; `retry_after_s` goes in the `Retry-After` header."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


async def _keel_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeelError)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = f"invalid request: {where}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return JSONResponse({"detail": jsonable_encoder(errors), "message": message}, status_code=422)


_ID_PARAMS = ("thread_id", "run_id", "assistant_id", "checkpoint_id")


class CatchUnexpected:
    """ASGI middleware: an exception no handler took becomes a logged 500 with a JSON `detail`.

    If the response had already started (a stream), it cannot be replaced; the exception is
    re-raised for the server to log and close the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            params = scope.get("path_params") or {}
            ids = " ".join(f"{name}={params[name]}" for name in _ID_PARAMS if name in params)
            log.exception("unexpected error on %s %s%s", scope["method"], scope["path"], f" ({ids})" if ids else "")
            response = JSONResponse({"detail": "internal error; the server log has the details"}, status_code=500)
            await response(scope, receive, send)


# The database is down or unreachable (a lost or refused connection: no SQLSTATE, class 08, 57 shutting down),
# overloaded (53), or this transaction lost a conflict (40), or no pooled connection came free in time (psycopg_pool's
# PoolTimeout): the request may well succeed shortly. Other OperationalErrors (54 program limit exceeded) are not.
RETRY_AFTER_S = 5
_RETRYABLE_CLASSES = ("08", "40", "53", "57")


def database_unavailable(exc: psycopg.OperationalError) -> bool:
    """The database is away for now (retry shortly), not an error of the request."""
    return exc.sqlstate is None or exc.sqlstate[:2] in _RETRYABLE_CLASSES


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, psycopg.OperationalError)
    if not database_unavailable(exc):
        raise exc  # an ordinary unexpected error: logged and answered 500 by CatchUnexpected
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return JSONResponse(
        {"detail": f"database unavailable; retry in a few seconds ({type(exc).__name__})"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KeelError, _keel_error)
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(CatchUnexpected)
