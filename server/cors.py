"""CORS for browser clients on other origins (Agent Chat UI, a team's own page), as LangGraph Server answers them.

Off unless `KEEL_CORS_ALLOW_ORIGINS` names origins: then Starlette's `CORSMiddleware` answers a preflight itself
(before the input guard and authentication: a preflight carries no credentials) and marks every answer to an
allowed origin, refusals included, so the page can read a 401's or 422's detail. The host guard still runs first:
a DNS-rebinding page gets nothing, preflight or not. Any method and request header may be used (the API key's
`X-Api-Key`, `Authorization`, `Last-Event-ID`); the response headers the SDKs read are exposed.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

# What keel's answers carry that a client reads: where a created run lives, and the paging of search results.
EXPOSED_HEADERS = ("Content-Location", "Location", "X-Pagination-Total", "X-Pagination-Next")


def add_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer cross-origin requests from `origins` (`*`: any); nothing when there are none."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        # With named origins a page may send cookies too (`credentials: "include"`), as on LangGraph Server;
        # browsers refuse credentials with `*`, so they are not offered then.
        allow_credentials="*" not in origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=list(EXPOSED_HEADERS),
    )
