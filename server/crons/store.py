"""The crons table: every statement on keel.crons is here. A scheduler claims due crons with FOR UPDATE SKIP
LOCKED inside its transaction and moves each one's next_run_at on before committing, so another scheduler,
in this process or another, never sees the same due time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal, cast

from psycopg import sql
from psycopg.types.json import Jsonb
from typing_extensions import TypedDict

from server.auth.filters import Filters, metadata_clause
from server.db.pool import Connection
from server.errors import NotFound
from server.runs import store as runs_store

CronSortBy = Literal["cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at"]
_COLUMN = {"next_run_date": "next_run_at"}  # the API's name for the one column named otherwise
# What a patch may set; each is a column of the same name.
PATCHABLE = frozenset(
    ("schedule", "timezone", "payload", "metadata", "enabled", "on_run_completed", "end_time", "next_run_at")
)


class Cron(TypedDict):
    cron_id: uuid.UUID
    assistant_id: str
    thread_id: uuid.UUID | None
    schedule: str
    timezone: str | None
    payload: dict[str, Any]
    metadata: dict[str, Any]
    enabled: bool
    on_run_completed: Literal["delete", "keep"] | None
    end_time: dt.datetime | None
    next_run_at: dt.datetime
    user_id: str | None
    auth_user: dict[str, Any] | None  # the creator, as `User.as_dict()`; None without auth
    created_at: dt.datetime
    updated_at: dt.datetime


async def insert_cron(
    conn: Connection,
    *,
    assistant_id: str,
    thread_id: uuid.UUID | None,
    schedule: str,
    timezone: str | None,
    payload: dict[str, Any],
    metadata: dict[str, Any],
    enabled: bool,
    on_run_completed: Literal["delete", "keep"] | None,
    end_time: dt.datetime | None,
    next_run_at: dt.datetime,
    user_id: str | None = None,
    auth_user: dict[str, Any] | None = None,
) -> Cron:
    cur = await conn.execute(
        """INSERT INTO keel.crons (cron_id, assistant_id, thread_id, schedule, timezone, payload, metadata, enabled,
               on_run_completed, end_time, next_run_at, user_id, auth_user)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
        (
            uuid.uuid4(),
            assistant_id,
            thread_id,
            schedule,
            timezone,
            Jsonb(payload),
            Jsonb(metadata),
            enabled,
            on_run_completed,
            end_time,
            next_run_at,
            user_id,
            None if auth_user is None else Jsonb(auth_user),
        ),
    )
    return cast(Cron, await cur.fetchone())


def _within(auth: Filters | None) -> sql.Composable:
    """The crons within a `crons.*` handler's filters, on the cron's metadata."""
    return metadata_clause(auth, sql.Identifier("metadata"))


async def get_cron(conn: Connection, cron_id: uuid.UUID, *, lock: bool = False, auth: Filters | None = None) -> Cron:
    """The cron (`NotFound` if unknown or outside `auth`, the caller's filters)."""
    query = sql.SQL("SELECT * FROM keel.crons WHERE cron_id = {} AND {}{}").format(
        sql.Literal(cron_id), _within(auth), sql.SQL(" FOR UPDATE" if lock else "")
    )
    row = await (await conn.execute(query)).fetchone()
    if row is None:
        raise _not_found(cron_id)
    return cast(Cron, row)


async def update_cron(conn: Connection, cron_id: uuid.UUID, changes: dict[str, Any]) -> Cron:
    """Set the given columns (names from `PATCHABLE`)."""
    assert changes.keys() <= PATCHABLE, changes.keys() - PATCHABLE
    values = {name: Jsonb(value) if name in ("payload", "metadata") else value for name, value in changes.items()}
    assignments = [sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in values]
    query = sql.SQL("UPDATE keel.crons SET {}, updated_at = now() WHERE cron_id = {} RETURNING *").format(
        sql.SQL(", ").join(assignments), sql.Literal(str(cron_id))
    )
    row = await (await conn.execute(query, values)).fetchone()
    if row is None:
        raise _not_found(cron_id)
    return cast(Cron, row)


async def delete_cron(conn: Connection, cron_id: uuid.UUID, *, auth: Filters | None = None) -> None:
    query = sql.SQL("DELETE FROM keel.crons WHERE cron_id = {} AND {} RETURNING cron_id").format(
        sql.Literal(cron_id), _within(auth)
    )
    cur = await conn.execute(query)
    if await cur.fetchone() is None:
        raise _not_found(cron_id)


def _filters(
    assistant_id: str | None,
    thread_id: uuid.UUID | None,
    enabled: bool | None,
    metadata: dict[str, Any] | None,
    auth: Filters | None,
    thread_auth: Filters | None,
) -> sql.Composable:
    clauses: list[sql.Composable] = [_within(auth)]
    if thread_auth:  # a thread's cron is listed only if its thread is visible too (a stateless one has none)
        visible = runs_store.visible_thread_ids(thread_auth)
        clauses.append(sql.SQL("(thread_id IS NULL OR thread_id IN ({}))").format(visible))
    if assistant_id is not None:
        clauses.append(sql.SQL("assistant_id = {}").format(sql.Literal(assistant_id)))
    if thread_id is not None:
        clauses.append(sql.SQL("thread_id = {}").format(sql.Literal(str(thread_id))))
    if enabled is not None:
        clauses.append(sql.SQL("enabled = {}").format(sql.Literal(enabled)))
    if metadata:
        clauses.append(sql.SQL("metadata @> {}").format(sql.Literal(Jsonb(metadata))))
    return sql.SQL(" AND ").join(clauses)


async def search_crons(
    conn: Connection,
    *,
    assistant_id: str | None,
    thread_id: uuid.UUID | None,
    enabled: bool | None,
    metadata: dict[str, Any] | None,
    limit: int,
    offset: int,
    sort_by: CronSortBy,
    sort_order: Literal["asc", "desc"],
    auth: Filters | None = None,
    thread_auth: Filters | None = None,
) -> list[Cron]:
    query = sql.SQL("SELECT * FROM keel.crons WHERE {} ORDER BY {} {}, cron_id LIMIT {} OFFSET {}").format(
        _filters(assistant_id, thread_id, enabled, metadata, auth, thread_auth),
        sql.Identifier(_COLUMN.get(sort_by, sort_by)),
        sql.SQL("ASC" if sort_order == "asc" else "DESC"),
        sql.Literal(limit),
        sql.Literal(offset),
    )
    return cast(list[Cron], await (await conn.execute(query)).fetchall())


async def count_crons(
    conn: Connection,
    *,
    assistant_id: str | None,
    thread_id: uuid.UUID | None,
    metadata: dict[str, Any] | None,
    auth: Filters | None = None,
    thread_auth: Filters | None = None,
) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM keel.crons WHERE {}").format(
        _filters(assistant_id, thread_id, None, metadata, auth, thread_auth)
    )
    row = await (await conn.execute(query)).fetchone()
    return int(row["n"]) if row else 0


async def claim_due(conn: Connection, *, limit: int) -> list[Cron]:
    """Due, enabled crons not past their end, locked for this transaction; crons another scheduler holds are
    skipped (it fires them). Call inside a transaction, and move each one's next_run_at on before it commits."""
    cur = await conn.execute(
        """SELECT * FROM keel.crons
           WHERE enabled AND next_run_at <= now() AND (end_time IS NULL OR next_run_at <= end_time)
           ORDER BY next_run_at LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    )
    return cast(list[Cron], await cur.fetchall())


async def move_on(conn: Connection, cron_id: uuid.UUID, *, due: dt.datetime, following: dt.datetime) -> bool:
    """Set the next due time, if the cron is still due at `due` (False: it was fired or changed meanwhile)."""
    cur = await conn.execute(
        """UPDATE keel.crons SET next_run_at = %s WHERE cron_id = %s AND next_run_at = %s RETURNING cron_id""",
        (following, cron_id, due),
    )
    return await cur.fetchone() is not None


def _not_found(cron_id: uuid.UUID) -> NotFound:
    return NotFound(f"cron {cron_id} not found")
