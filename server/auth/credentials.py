"""Reading a credential from request headers as LangGraph Server hands them to `@auth.authenticate`
(`headers`: the ASGI pairs, lower-case byte names), and the 401 that names nothing secret."""

from __future__ import annotations

from collections.abc import Mapping

from langgraph_sdk import Auth


def bearer_token(headers: Mapping[bytes, bytes]) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme in any case), or None."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def api_key(headers: Mapping[bytes, bytes]) -> str | None:
    """`x-api-key`, else the bearer token, or None."""
    key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return key or bearer_token(headers)


def unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=401, detail=detail)
