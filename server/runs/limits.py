"""Run limits per identity: runs created per minute and runs active at once, counted in PostgreSQL so that every
keel process on the database shares them.

The limits come from `RunSettings` (KEEL_RUN_LIMIT_PER_MINUTE, KEEL_RUN_LIMIT_ACTIVE), overridden per permission
(KEEL_RUN_LIMITS_BY_PERMISSION): a permission's value replaces the default, and among the caller's permissions the
most generous value applies, limit by limit (0, no limit, is the most generous). `admit` runs first in the
transaction that inserts the run, so a refused create leaves nothing behind (no run, no thread, no count).

Defaults, when langgraph.json has auth and a limit is unset: `DEFAULT_ACTIVE` active runs, about what one default
`keel serve` executes at once (KEEL_WORKERS=10): one identity can keep a process's workers busy but cannot queue
work ahead of everyone else without end; a person in a chat has one or two runs at a time. `DEFAULT_PER_MINUTE`
runs a minute, one a second on average: more than anyone types, few enough that a leaked key or a client stuck in a
retry loop cannot flood the queue. A service that fans out gets more through a permission. Without auth every
caller is the one anonymous identity '', so a default would throttle the whole (loopback, single-user) server:
there the limits apply only when set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from server.db.pool import Connection
from server.errors import TooManyRequests
from server.runs import store
from server.settings import RunSettings

DEFAULT_PER_MINUTE = 60
DEFAULT_ACTIVE = 10
# When one of the identity's runs will end is unknown: a short wait, as for a busy database.
ACTIVE_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Limit:
    """A caller's limits (0: none) and the setting each came from, for the 429's detail."""

    per_minute: int = 0
    active: int = 0
    per_minute_setting: str = "KEEL_RUN_LIMIT_PER_MINUTE"
    active_setting: str = "KEEL_RUN_LIMIT_ACTIVE"

    @property
    def unlimited(self) -> bool:
        return self.per_minute == 0 and self.active == 0


UNLIMITED = Limit()


def limit_for(settings: RunSettings, permissions: Collection[str], *, authenticated: bool) -> Limit:
    """The limits of a caller with `permissions`; `authenticated`: langgraph.json has auth (keel's defaults apply)."""
    per_minute = _configured(settings.limit_per_minute, DEFAULT_PER_MINUTE, authenticated=authenticated)
    active = _configured(settings.limit_active, DEFAULT_ACTIVE, authenticated=authenticated)
    overrides = settings.limits_by_permission
    granted = [(name, overrides[name]) for name in sorted(permissions) if name in overrides]
    by_minute = [(name, override.per_minute) for name, override in granted if override.per_minute is not None]
    by_active = [(name, override.active) for name, override in granted if override.active is not None]
    limit = Limit(per_minute=per_minute, active=active)
    if by_minute:
        name, per_minute = _most_generous(by_minute)
        limit = Limit(per_minute, limit.active, _override_setting(name), limit.active_setting)
    if by_active:
        name, active = _most_generous(by_active)
        limit = Limit(limit.per_minute, active, limit.per_minute_setting, _override_setting(name))
    return limit


def _configured(value: int | None, default: int, *, authenticated: bool) -> int:
    if value is not None:
        return value
    return default if authenticated else 0


def _most_generous(values: Sequence[tuple[str, int]]) -> tuple[str, int]:
    unlimited = [(name, value) for name, value in values if value == 0]
    return unlimited[0] if unlimited else max(values, key=lambda item: item[1])


def _override_setting(permission: str) -> str:
    return f"KEEL_RUN_LIMITS_BY_PERMISSION for permission {permission!r}"


async def admit(conn: Connection, identity: str, limit: Limit) -> None:
    """Count a run `identity` is creating, or refuse it with `TooManyRequests` (429 with Retry-After). Call first in
    the transaction that inserts the run: it holds the identity's counter row until the run is committed, so the
    identity's creates in every process are checked one after the other against committed runs."""
    if limit.unlimited:
        return
    who = f"identity {identity!r}" if identity else "the anonymous caller (langgraph.json has no auth)"
    wait_s = await store.count_created(conn, identity, per_minute=limit.per_minute)
    if wait_s is not None:
        raise TooManyRequests(
            f"{who} has created {limit.per_minute} runs this minute, the limit ({limit.per_minute_setting}); "
            f"retry in {wait_s} s",
            retry_after_s=wait_s,
        )
    if limit.active and (active := await store.count_active_of(conn, identity)) >= limit.active:
        raise TooManyRequests(
            f"{who} has {active} active runs (pending or running), the limit ({limit.active_setting}); "
            "retry when one has ended",
            retry_after_s=ACTIVE_RETRY_AFTER_S,
        )
