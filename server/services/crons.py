"""Crons, as LangGraph Server has them: create (on a thread, or stateless), read, change, delete, search, count;
and the scheduler, which fires each due time of each cron exactly once across every keel process.

A firing is an ordinary run, created through the run service in the same transaction that claims the cron and
moves its next_run_at on: if the process dies before the commit, neither happened and another scheduler fires it.
A cron on a thread runs there; a stateless cron's run gets a new thread, deleted when the run ends unless the cron
says `on_run_completed="keep"`. A scheduler that was down fires a missed due time once and goes on from now.

Under langgraph.json `auth`, the `crons.<action>` handlers run as LangGraph Server runs them (a create's metadata
as the handler leaves it is stored; filters apply in SQL to the cron's metadata: 404 outside them). A cron on a
thread also needs the thread visible (`threads.read`), and one of a named assistant `assistants.read` on it. The
cron keeps its creator: each run it fires is that user's run (`langgraph_auth_user` in its config), authorized as
that user's own `threads.create_run` would be.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import psycopg
from langgraph_sdk import Auth
from psycopg_pool import PoolTimeout

from server.auth.access import Access
from server.auth.identity import User
from server.crons import schedule
from server.crons import store as crons
from server.crons.request_body import CronCreate, CronPatch
from server.crons.store import Cron, CronSortBy
from server.db.pool import Pool
from server.errors import BadRequest, InvalidInput, KeelError
from server.graph_loading import LoadedGraphs
from server.runs import store
from server.runs.request_body import RunCreate
from server.serialize import JSON, to_json_compatible
from server.services import commands
from server.services.access import thread_filters, visible_thread
from server.services.assistants import resolve_assistant
from server.services.runs import RunService, stateless

log = logging.getLogger(__name__)

_SHOWN: tuple[str, ...] = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "on_run_completed",
    "end_time",
    "schedule",
    "timezone",
)
_SHOWN += ("created_at", "updated_at", "user_id", "payload", "metadata", "enabled")
CRON_FIELDS = frozenset((*_SHOWN, "next_run_date"))  # what a search may `select`
_BATCH = 100  # crons claimed per transaction; a full batch is followed by another at once
_DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)


def cron_json(cron: Cron, select: Collection[str] | None = None) -> JSON:
    """A cron as LangGraph Server shows it (`next_run_date`); with `select`, only those fields."""
    shown: dict[str, Any] = {key: cron[key] for key in _SHOWN}  # type: ignore[literal-required]
    shown["next_run_date"] = cron["next_run_at"]
    return to_json_compatible({key: value for key, value in shown.items() if not select or key in select})


@dataclass(frozen=True)
class CronService:
    pool: Pool
    graphs: LoadedGraphs
    access: Access = field(default_factory=Access)  # the caller: what it may do, and whose runs its crons make

    async def create(self, body: CronCreate, thread_id: uuid.UUID | None = None) -> Cron:
        command = body.payload().get("command") or {}
        if "resume" in command or commands.resolves(command):
            # A firing would answer (or mark resolved) whatever is pending then, decided by no one.
            raise InvalidInput(
                "a cron cannot carry command.resume or a goto to the end: an interrupt (an approval) is answered by "
                "a run created when it is pending, by someone allowed to decide it"
            )
        schedule.check(body.schedule, body.timezone)
        following = schedule.next_after(body.schedule, body.timezone, dt.datetime.now(dt.UTC))
        payload = body.payload()
        payload.setdefault("config", {}).setdefault("configurable", {})  # as LangGraph Server shows it to handlers
        value: dict[str, Any] = {
            "payload": payload,
            "schedule": body.schedule,
            "cron_id": None,
            "thread_id": thread_id,
            "on_run_completed": body.on_run_completed,
            "end_time": body.end_time,
            "metadata": dict(body.metadata or {}),
        }
        await self.access.authorize("crons", "create", value)
        user = self.access.user if self.access.enforced else None
        async with self.pool.connection() as conn:
            assistant = await resolve_assistant(conn, self.graphs, body.assistant_id, self.access)
            if thread_id is not None:
                await visible_thread(conn, self.access, "read", thread_id, {"metadata": dict(value["metadata"] or {})})
                await store.get_thread(conn, thread_id)
            return await crons.insert_cron(
                conn,
                assistant_id=assistant.assistant_id,
                thread_id=thread_id,
                schedule=body.schedule,
                timezone=body.timezone,
                payload=value.get("payload") or payload,
                metadata=value.get("metadata") or {},
                enabled=body.enabled,
                # A thread's cron runs on the thread, which stays: the setting is a stateless cron's.
                on_run_completed=None if thread_id is not None else body.on_run_completed or "delete",
                end_time=body.end_time,
                next_run_at=following,
                user_id=user.identity if user else None,
                auth_user=user.as_dict() if user else None,
            )

    async def get(self, cron_id: uuid.UUID) -> Cron:
        auth = await self.access.authorize("crons", "read", {"cron_id": cron_id})
        async with self.pool.connection() as conn:
            return await crons.get_cron(conn, cron_id, auth=auth)

    async def patch(self, cron_id: uuid.UUID, body: CronPatch) -> Cron:
        """Change what is given; a new schedule, time zone or re-enabling counts the next due time from now."""
        given = body.model_fields_set
        if not given:
            raise BadRequest("nothing to change: the body is empty")
        value: dict[str, Any] = {
            "cron_id": cron_id,
            "schedule": body.schedule,
            "end_time": body.end_time,
            "enabled": body.enabled,
            "on_run_completed": body.on_run_completed,
            "payload": body.payload_changes() or None,
            "metadata": dict(body.metadata or {}),
        }
        auth = await self.access.authorize("crons", "update", value)
        async with self.pool.connection() as conn, conn.transaction():
            cron = await crons.get_cron(conn, cron_id, lock=True, auth=auth)
            changes: dict[str, Any] = {
                name: getattr(body, name)
                for name in ("schedule", "timezone", "enabled", "on_run_completed", "metadata")
                if getattr(body, name) is not None
            }
            if value["metadata"] or body.metadata is not None:  # as the handler left it (stamped, say)
                changes["metadata"] = value["metadata"]
            if "end_time" in given:  # an explicit null clears it
                changes["end_time"] = body.end_time
            if payload_changes := body.payload_changes():
                changes["payload"] = {**cron["payload"], **payload_changes}
            if {"schedule", "timezone", "enabled"} & changes.keys():
                new_schedule, new_zone = (
                    changes.get("schedule", cron["schedule"]),
                    changes.get("timezone", cron["timezone"]),
                )
                schedule.check(new_schedule, new_zone)
                changes["next_run_at"] = schedule.next_after(new_schedule, new_zone, dt.datetime.now(dt.UTC))
            return await crons.update_cron(conn, cron_id, changes)

    async def delete(self, cron_id: uuid.UUID) -> None:
        auth = await self.access.authorize("crons", "delete", {"cron_id": cron_id})
        async with self.pool.connection() as conn:
            await crons.delete_cron(conn, cron_id, auth=auth)

    async def _search_filters(
        self, value: dict[str, Any], thread_id: uuid.UUID | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """`crons.search`'s filters (on the crons) and the threads' (`threads.read` on the given thread, else
        `threads.search`), as LangGraph Server asks both."""
        auth = await self.access.authorize("crons", "search", value)
        if thread_id is not None:
            return auth, await self.access.authorize("threads", "read", {"thread_id": thread_id})
        return auth, await thread_filters(self.access, "search", {"metadata": {}})

    async def search(
        self,
        *,
        assistant_id: str | None,
        thread_id: uuid.UUID | None,
        enabled: bool | None,
        metadata: dict[str, Any] | None,
        limit: int,
        offset: int,
        sort_by: CronSortBy,
        sort_order: Literal["asc", "desc"],
        select: list[str] | None,
    ) -> list[JSON]:
        if unknown := sorted(set(select or ()) - CRON_FIELDS):
            fields = ", ".join(sorted(CRON_FIELDS))
            raise InvalidInput(f"select: unknown cron field(s) {', '.join(unknown)}; fields: {fields}")
        value = {
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "limit": limit,
            "offset": offset,
            "metadata": dict(metadata or {}),
        }
        auth, thread_auth = await self._search_filters(value, thread_id)
        async with self.pool.connection() as conn:
            found = await crons.search_crons(
                conn,
                assistant_id=await self._assistant_id(conn, assistant_id),
                thread_id=thread_id,
                enabled=enabled,
                metadata=metadata,
                limit=limit,
                offset=offset,
                sort_by=sort_by,
                sort_order=sort_order,
                auth=auth,
                thread_auth=thread_auth,
            )
        return [cron_json(cron, select) for cron in found]

    async def count(
        self, *, assistant_id: str | None, thread_id: uuid.UUID | None, metadata: dict[str, Any] | None
    ) -> int:
        value = {"assistant_id": assistant_id, "thread_id": thread_id, "metadata": dict(metadata or {})}
        auth, thread_auth = await self._search_filters(value, thread_id)
        async with self.pool.connection() as conn:
            return await crons.count_crons(
                conn,
                assistant_id=await self._assistant_id(conn, assistant_id),
                thread_id=thread_id,
                metadata=metadata,
                auth=auth,
                thread_auth=thread_auth,
            )

    async def _assistant_id(self, conn: Any, assistant_id: str | None) -> str | None:
        """A search's assistant (a graph id names its system assistant), as crons store it."""
        if assistant_id is None:
            return None
        return (await resolve_assistant(conn, self.graphs, assistant_id)).assistant_id


async def fire_due(runs: RunService, *, limit: int = _BATCH, auth: Auth | None = None) -> int:
    """Create a run for each due cron (up to `limit`) and move each cron on; returns how many fired. A run that
    cannot be created (its assistant was deleted, its thread is busy and the cron rejects, its creator may no
    longer run on its thread) is logged, and the due time passes all the same, as on LangGraph Server."""
    async with runs.pool.connection() as conn, conn.transaction():
        due = await crons.claim_due(conn, limit=limit)
        for cron in due:
            try:
                async with conn.transaction():  # a savepoint: a failed run leaves the claim in place
                    await _as_creator(runs, cron, auth).create_on(conn, *_run_of(cron))
            except KeelError as exc:  # refused as a request would be: a busy thread under "reject", a lost assistant
                log.warning("cron %s: its run was refused: %s", cron["cron_id"], exc)
            except Exception:
                log.exception("cron %s: its run could not be created", cron["cron_id"])
            # From now, not from the missed time: a scheduler that was down fires once, not once per missed time.
            now = dt.datetime.now(dt.UTC)
            following = schedule.next_after(cron["schedule"], cron["timezone"], max(cron["next_run_at"], now))
            await crons.move_on(conn, cron["cron_id"], due=cron["next_run_at"], following=following)
    return len(due)


def _as_creator(runs: RunService, cron: Cron, auth: Auth | None) -> RunService:
    """The run service acting as the cron's creator (under `auth`): its runs carry that user and are checked
    as theirs. A cron made before langgraph.json had `auth` has no creator: its runs stay as they were."""
    if auth is None or cron["auth_user"] is None:
        return runs
    return replace(runs, access=Access(User.from_dict(cron["auth_user"]), auth))


def _run_of(cron: Cron) -> tuple[uuid.UUID, RunCreate]:
    """The thread and body of a cron's run: its payload, with the cron's metadata under the payload's."""
    body = RunCreate.model_validate(cron["payload"])
    body = body.model_copy(update={"metadata": {**cron["metadata"], **(body.metadata or {})}})
    if cron["thread_id"] is not None:
        return cron["thread_id"], body
    thread_id, body = stateless(body.model_copy(update={"on_completion": cron["on_run_completed"] or "delete"}))
    return thread_id, body


@asynccontextmanager
async def cron_scheduler(runs: RunService, *, poll_s: float, auth: Auth | None = None) -> AsyncIterator[None]:
    """Fire due crons every `poll_s` while the block runs (in each process with workers: the claim makes any
    number of them safe together); under langgraph.json's `auth`, each as its creator."""

    async def loop() -> None:
        while True:
            try:
                if await fire_due(runs, auth=auth) >= _BATCH:
                    continue
            except _DATABASE_DOWN as exc:
                log.warning("cron scheduler: database unavailable (%s); retrying", exc)
            except Exception:
                log.exception("cron scheduler: a round failed; retrying")
            await asyncio.sleep(poll_s)

    task = asyncio.create_task(loop(), name="keel-cron-scheduler")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
