"""Call an `Auth`'s `@auth.authenticate` handler as LangGraph Server calls it: with only the parameters it
names, taken from the request (`headers` as ASGI byte pairs with lower-case names, `authorization` decoded)."""

from __future__ import annotations

import inspect
from typing import Any

from langgraph_sdk import Auth


async def authenticate(auth: Auth, headers: dict[str, str], *, method: str = "GET", path: str = "/threads") -> Any:
    handler = auth._authenticate_handler
    assert handler is not None, "the Auth has no @auth.authenticate handler"
    raw = {name.lower().encode(): value.encode() for name, value in headers.items()}
    offered: dict[str, Any] = {
        "headers": raw,
        "authorization": raw[b"authorization"].decode() if b"authorization" in raw else None,
        "method": method,
        "path": path,
        "path_params": {},
        "query_params": {},
    }
    return await handler(**{name: offered[name] for name in inspect.signature(handler).parameters})
