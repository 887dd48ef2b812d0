"""What the caller may do: the langgraph.json `auth` object's `@auth.on…` handlers, run as LangGraph Server
runs them, for one request's user.

For an action on a resource (`threads.read`, `assistants.search`, `store.put`, …) the most specific handler
runs: resource and action, then the resource's, then the action's, then `@auth.on`. It may edit `value` (stamp
`metadata.owner` on a create), deny (raise `Auth.exceptions.HTTPException`, fail an `assert`, return False:
403) or return filters that the caller applies in SQL. No `auth` section, or no handler for the action: allowed,
no filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth

from server.auth.filters import FilterError, Filters
from server.auth.identity import ANONYMOUS, User
from server.errors import Forbidden, KeelError


class HandlerError(KeelError):
    """An auth handler's own `Auth.exceptions.HTTPException`, answered with its status and detail."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


@dataclass(frozen=True)
class Access:
    user: User = ANONYMOUS
    auth: Auth | None = None  # langgraph.json's, when it has an `auth` section

    @property
    def enforced(self) -> bool:
        return self.auth is not None

    async def authorize(self, resource: str, action: str, value: dict[str, Any]) -> Filters | None:
        """Run the handler for `resource.action` on `value` (which it may edit); its filters, or None."""
        if self.auth is None:
            return None
        handler = _handler(self.auth, resource, action)
        if handler is None:
            return None
        ctx = Auth.types.AuthContext(
            resource=resource,  # type: ignore[arg-type]  # keel passes LangGraph's own names
            action=action,  # type: ignore[arg-type]
            user=self.user,  # type: ignore[arg-type]  # User reads as LangGraph's BaseUser
            permissions=sorted(self.user.permissions),
        )
        try:
            result = await handler(ctx=ctx, value=value)  # langgraph_sdk accepts async handlers only
        except Auth.exceptions.HTTPException as exc:
            if exc.status_code == 403:
                raise Forbidden(exc.detail or "Forbidden") from None
            raise HandlerError(exc.status_code, exc.detail) from None
        except AssertionError as exc:
            raise Forbidden(str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        if not isinstance(result, dict):
            raise FilterError(
                f"auth handler for {resource}.{action} returned a {type(result).__name__}; "
                "expected a filter dict, None or a boolean"
            )
        return result


def _handler(auth: Auth, resource: str, action: str) -> Any:
    """The most specific handler for `resource.action`, as LangGraph Server picks it (the last one registered)."""
    for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
        if key in auth._handlers:
            return auth._handlers[key][-1]
    return auth._global_handlers[-1] if auth._global_handlers else None
