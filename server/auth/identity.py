"""Who is calling: the user `@auth.authenticate` returned, in the shapes LangGraph Server accepts (a string,
a dict or object with `identity`, or a `(permissions, user)` pair), and the same user as a run's config carries it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.errors import KeelError


class AuthenticateResultError(KeelError):
    """500: `@auth.authenticate` returned something that names no user (a bug in the auth code, not the request)."""


@dataclass(frozen=True)
class User:
    """The caller. Handlers read it as LangGraph Server's user: `ctx.user.identity`, `ctx.user["identity"]`,
    `ctx.user.permissions`, or any other field the authenticate handler returned (`ctx.user.org_id`)."""

    identity: str
    display_name: str = ""
    permissions: frozenset[str] = frozenset()
    is_authenticated: bool = True
    fields: Mapping[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.as_dict()

    def __getattr__(self, name: str) -> Any:  # only for names the dataclass does not define
        fields = object.__getattribute__(self, "fields")
        if name.startswith("__") or name not in fields:
            raise AttributeError(name)
        return fields[name]

    def as_dict(self) -> dict[str, Any]:
        """The user as a run's `config.configurable.langgraph_auth_user` holds it (JSON-able)."""
        return {
            **{key: value for key, value in self.fields.items() if _json_able(value)},
            "identity": self.identity,
            "display_name": self.display_name,
            "is_authenticated": self.is_authenticated,
            "permissions": sorted(self.permissions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> User:
        """The user back from `as_dict()` (a run's stored config)."""
        return cls(
            identity=str(data.get("identity") or ""),
            display_name=str(data.get("display_name") or data.get("identity") or ""),
            permissions=frozenset(str(p) for p in data.get("permissions") or ()),
            is_authenticated=bool(data.get("is_authenticated", True)),
            fields=dict(data),
        )


# The user of every request when langgraph.json has no `auth` section.
ANONYMOUS = User(identity="", display_name="anonymous", is_authenticated=False)


def _json_able(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


def authenticated_user(result: Any) -> User:
    """The user an `@auth.authenticate` handler returned, normalized as LangGraph Server does."""
    permissions: Any = ()
    user = result
    if isinstance(result, tuple):
        if len(result) != 2:
            raise AuthenticateResultError(
                f"@auth.authenticate returned a tuple of {len(result)}; expected (permissions, user)"
            )
        permissions, user = result
    elif isinstance(result, Mapping) and "permissions" in result:
        permissions = result["permissions"]
    elif not isinstance(result, Mapping) and hasattr(result, "permissions"):
        permissions = result.permissions
    if isinstance(user, str):
        return User(identity=user, display_name=user, permissions=_permissions(permissions))
    fields: dict[str, Any]
    if isinstance(user, Mapping):
        fields = dict(user)
    elif hasattr(user, "identity"):
        fields = {name: getattr(user, name) for name in dir(user) if not name.startswith("_")}
        fields = {name: value for name, value in fields.items() if not callable(value)}
    else:
        raise AuthenticateResultError(
            f"@auth.authenticate returned a {type(user).__name__}; expected a user id string, or a dict or "
            "object with an `identity` (optionally `permissions`, `display_name`, `is_authenticated`)"
        )
    identity = fields.get("identity")
    if not isinstance(identity, str) or not identity:
        raise AuthenticateResultError("@auth.authenticate returned a user without a non-empty string `identity`")
    return User(
        identity=identity,
        display_name=str(fields.get("display_name") or identity),
        permissions=_permissions(permissions),
        is_authenticated=bool(fields.get("is_authenticated", True)),
        fields={key: value for key, value in fields.items() if key != "permissions"},
    )


def _permissions(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, Iterable):
        return frozenset(str(item) for item in value)
    return frozenset()
