"""STUB of the lead's auth core interface (CORE14.md), so this branch builds and tests before it lands on main;
main's file replaces this one at the merge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    identity: str
    display_name: str = ""
    permissions: frozenset[str] = frozenset()
    is_authenticated: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


ANONYMOUS = User(identity="")
