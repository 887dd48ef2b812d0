"""STUB of the lead's auth core interface (CORE14.md); main's file replaces this one at the merge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth

from server.auth.identity import ANONYMOUS, User
from server.errors import Forbidden


class _SdkUser(dict[str, Any]):
    @property
    def identity(self) -> str:
        return str(self["identity"])

    @property
    def display_name(self) -> str:
        return str(self["display_name"])

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def permissions(self) -> list[str]:
        return list(self["permissions"])


@dataclass(frozen=True)
class Access:
    user: User = ANONYMOUS
    enforced: bool = False
    auth: Any = None

    async def authorize(self, resource: str, action: str, value: dict[str, Any]) -> dict[str, Any] | None:
        if self.auth is None:
            return None
        found = self.auth._handlers  # the stub only
        chosen = found.get((resource, action)) or found.get((resource, "*")) or self.auth._global_handlers
        if not chosen:
            return None
        user = _SdkUser(
            identity=self.user.identity,
            display_name=self.user.display_name,
            permissions=sorted(self.user.permissions),
        )
        ctx = Auth.types.AuthContext(
            permissions=sorted(self.user.permissions),
            user=user,
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        try:
            result = await chosen[-1](ctx=ctx, value=value)
        except Auth.exceptions.HTTPException as exc:
            raise Forbidden(str(exc.detail)) from None
        if result is False:
            raise Forbidden("forbidden")
        return result if isinstance(result, dict) else None
