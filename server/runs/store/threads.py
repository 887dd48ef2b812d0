"""keel.threads: the thread rows. `status`, `values`, `interrupts` and `active_runs` are kept by the run
queue (`store.runs`) and by state updates (`set_thread_values`); the thread routes create, read, search,
patch, copy and delete rows."""

from __future__ import annotations

import uuid
from typing import Any, Literal, LiteralString, cast

from psycopg import sql
from psycopg.types.json import Jsonb

from server.auth.filters import Filters, metadata_clause
from server.db.pool import Connection
from server.errors import NotFound
from server.records import Thread, ThreadStatus, ThreadTTL

SortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
SortOrder = Literal["asc", "desc"]


def _not_found(thread_id: uuid.UUID) -> NotFound:
    return NotFound(f"thread {thread_id} not found")


async def ensure_thread(
    conn: Connection,
    thread_id: uuid.UUID,
    *,
    if_not_exists: str,
    graph_id: str,
    assistant_id: str,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Lock the thread row for this transaction, creating it when `if_not_exists == "create"` (the upsert
    locks an existing row as SELECT … FOR UPDATE would). A thread made for a run carries the run's graph and
    assistant in its metadata, as on LangGraph Server, over `metadata` (the run's own, under auth: its owner)."""
    if if_not_exists == "create":
        query: LiteralString = """INSERT INTO keel.threads (thread_id, metadata) VALUES (%s, %s)
               ON CONFLICT (thread_id) DO UPDATE SET updated_at = keel.threads.updated_at RETURNING thread_id"""
        created = {**(metadata or {}), "graph_id": graph_id, "assistant_id": assistant_id}
        params: tuple[Any, ...] = (thread_id, Jsonb(created))
    else:
        query = "SELECT thread_id FROM keel.threads WHERE thread_id = %s FOR UPDATE"
        params = (thread_id,)
    row = await (await conn.execute(query, params)).fetchone()
    if row is None:
        raise NotFound(f"thread {thread_id} not found (pass if_not_exists='create' to create it with the run)")


_TTL_COLUMNS: LiteralString = (
    "%(strategy)s::text, %(minutes)s::float8, now() + make_interval(secs => %(minutes)s::float8 * 60)"
)


def _ttl_params(ttl: ThreadTTL | None) -> dict[str, Any]:
    return {"strategy": ttl["strategy"] if ttl else None, "minutes": ttl["ttl"] if ttl else None}


async def insert_thread(
    conn: Connection, thread_id: uuid.UUID, metadata: dict[str, Any], ttl: ThreadTTL | None = None
) -> Thread | None:
    """A new idle thread, expiring `ttl` minutes from now if given; None when the id is taken."""
    cur = await conn.execute(
        """INSERT INTO keel.threads (thread_id, metadata, status, ttl_strategy, ttl_minutes, expires_at)
           VALUES (%(thread_id)s, %(metadata)s, 'idle', """
        + _TTL_COLUMNS
        + ") ON CONFLICT (thread_id) DO NOTHING RETURNING *",
        {"thread_id": thread_id, "metadata": Jsonb(metadata), **_ttl_params(ttl)},
    )
    return cast(Thread | None, await cur.fetchone())


async def get_thread(conn: Connection, thread_id: uuid.UUID, *, lock: bool = False) -> Thread:
    query: LiteralString = "SELECT * FROM keel.threads WHERE thread_id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await conn.execute(query, (thread_id,))).fetchone()
    if row is None:
        raise _not_found(thread_id)
    return cast(Thread, row)


async def check_thread_visible(conn: Connection, thread_id: uuid.UUID, filters: Filters | None) -> None:
    """NotFound unless the thread exists and its metadata satisfies the caller's auth `filters` (no filters:
    nothing to check here; the operation itself answers 404 for an unknown thread)."""
    if not filters:
        return
    query = sql.SQL("SELECT 1 FROM keel.threads WHERE thread_id = {} AND {}").format(
        sql.Literal(thread_id), metadata_clause(filters, sql.Identifier("metadata"))
    )
    if await (await conn.execute(query)).fetchone() is None:
        raise _not_found(thread_id)


async def pending_interrupts(conn: Connection, thread_id: uuid.UUID) -> tuple[ThreadStatus, list[dict[str, Any]]]:
    """The thread's status and the interrupts it waits on (`{"id", "value"}`), as its last run or state
    update left them."""
    row = await (
        await conn.execute("SELECT status, interrupts FROM keel.threads WHERE thread_id = %s", (thread_id,))
    ).fetchone()
    if row is None:
        raise _not_found(thread_id)
    return row["status"], [item for items in (row["interrupts"] or {}).values() for item in items]


def _filters(
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: str | None,
    ids: list[uuid.UUID] | None,
    auth: Filters | None,
) -> sql.Composed:
    clauses: list[sql.Composable] = [metadata_clause(auth, sql.Identifier("metadata"))]
    if metadata:
        clauses.append(sql.SQL("metadata @> {}").format(sql.Literal(Jsonb(metadata))))
    if values:
        clauses.append(sql.SQL('"values" @> {}').format(sql.Literal(Jsonb(values))))
    if status:
        clauses.append(sql.SQL("status = {}").format(sql.Literal(status)))
    if ids:
        clauses.append(sql.SQL("thread_id = ANY({})").format(sql.Literal(ids)))
    return sql.SQL(" AND ").join(clauses)


async def search_threads(
    conn: Connection,
    *,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: ThreadStatus | None,
    ids: list[uuid.UUID] | None,
    limit: int,
    offset: int,
    sort_by: SortBy,
    sort_order: SortOrder,
    auth: Filters | None = None,
) -> list[Thread]:
    column = "updated_at" if sort_by == "state_updated_at" else sort_by
    query = sql.SQL("SELECT * FROM keel.threads WHERE {} ORDER BY {} {}, thread_id LIMIT {} OFFSET {}").format(
        _filters(metadata, values, status, ids, auth),
        sql.Identifier(column),
        sql.SQL("ASC" if sort_order == "asc" else "DESC"),
        sql.Literal(limit),
        sql.Literal(offset),
    )
    return cast(list[Thread], await (await conn.execute(query)).fetchall())


async def count_threads(
    conn: Connection,
    *,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    status: ThreadStatus | None,
    auth: Filters | None = None,
) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM keel.threads WHERE {}").format(
        _filters(metadata, values, status, None, auth)
    )
    row = await (await conn.execute(query)).fetchone()
    return int(row["n"]) if row else 0


async def patch_thread(
    conn: Connection, thread_id: uuid.UUID, metadata: dict[str, Any], ttl: ThreadTTL | None = None
) -> Thread:
    """Merge `metadata` into the thread's (top-level keys; a given key replaces the old value); a `ttl` sets
    the thread to expire that many minutes from now."""
    query: LiteralString = "UPDATE keel.threads SET metadata = metadata || %(metadata)s, updated_at = now()"
    if ttl is not None:
        query += ", (ttl_strategy, ttl_minutes, expires_at) = (" + _TTL_COLUMNS + ")"
    cur = await conn.execute(
        query + " WHERE thread_id = %(thread_id)s RETURNING *",
        {"thread_id": thread_id, "metadata": Jsonb(metadata), **_ttl_params(ttl)},
    )
    row = await cur.fetchone()
    if row is None:
        raise _not_found(thread_id)
    return cast(Thread, row)


async def delete_thread_row(conn: Connection, thread_id: uuid.UUID) -> None:
    """The row, its runs and their events (foreign keys cascade); not its checkpoints."""
    cur = await conn.execute("DELETE FROM keel.threads WHERE thread_id = %s RETURNING thread_id", (thread_id,))
    if await cur.fetchone() is None:
        raise _not_found(thread_id)


async def delete_expired_threads(conn: Connection, *, limit: int) -> list[uuid.UUID]:
    """Delete up to `limit` threads past their `expires_at` (their runs and events cascade; the caller deletes
    their checkpoints in the same transaction). A thread with an active run is left for a later sweep, and
    so is one whose row another transaction holds (a run being created on it, which locks the row)."""
    cur = await conn.execute(
        """WITH doomed AS (
               SELECT thread_id FROM keel.threads
               WHERE expires_at <= now() AND active_runs = 0
               ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)
           DELETE FROM keel.threads t USING doomed WHERE t.thread_id = doomed.thread_id RETURNING t.thread_id""",
        (limit,),
    )
    return [row["thread_id"] for row in await cur.fetchall()]


async def thread_ids_with_metadata(
    conn: Connection, metadata: dict[str, Any], *, auth: Filters | None = None
) -> list[uuid.UUID]:
    """The threads whose metadata contains `metadata`, within the caller's auth filters."""
    query = sql.SQL("SELECT thread_id FROM keel.threads WHERE metadata @> {} AND {}").format(
        sql.Literal(Jsonb(metadata)), metadata_clause(auth, sql.Identifier("metadata"))
    )
    return [row["thread_id"] for row in await (await conn.execute(query)).fetchall()]


def visible_thread_ids(auth: Filters) -> sql.Composable:
    """A subquery: the ids of the threads within the caller's auth filters (for other tables' searches)."""
    return sql.SQL("SELECT thread_id FROM keel.threads WHERE {}").format(
        metadata_clause(auth, sql.Identifier("metadata"))
    )


async def existing_thread_ids(conn: Connection, thread_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Those of `thread_ids` that name a thread, in the given order."""
    cur = await conn.execute("SELECT thread_id FROM keel.threads WHERE thread_id = ANY(%s)", (thread_ids,))
    found = {row["thread_id"] for row in await cur.fetchall()}
    return [thread_id for thread_id in thread_ids if thread_id in found]


async def copy_thread_row(conn: Connection, thread_id: uuid.UUID, new_id: uuid.UUID) -> Thread:
    """A copy of the row under `new_id`; a copy of a busy thread starts idle (the run belongs to the original)."""
    cur = await conn.execute(
        """INSERT INTO keel.threads (thread_id, metadata, status, config, "values", interrupts)
           SELECT %s, metadata, CASE WHEN status = 'busy' THEN 'idle' ELSE status END,
                  config, "values", interrupts
           FROM keel.threads WHERE thread_id = %s RETURNING *""",
        (new_id, thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise _not_found(thread_id)
    return cast(Thread, row)


async def set_thread_values(
    conn: Connection, thread_id: uuid.UUID, *, values: Any, interrupts: dict[str, Any], status: ThreadStatus
) -> None:
    """After a state update: the latest values, pending interrupts (by task id) and the status they mean."""
    await conn.execute(
        """UPDATE keel.threads SET "values" = %s, interrupts = %s, updated_at = now(), status = %s
           WHERE thread_id = %s""",
        (Jsonb(values), Jsonb(interrupts), status, thread_id),
    )


async def count_pending_interrupts(conn: Connection) -> int:
    """Interrupts waiting for an answer (e.g. approvals), database-wide."""
    row = await (
        await conn.execute(
            """SELECT coalesce(sum(CASE jsonb_typeof(e.value) WHEN 'array' THEN jsonb_array_length(e.value)
                                    ELSE 1 END), 0) AS n
               FROM keel.threads t, jsonb_each(t.interrupts) e WHERE t.status = 'interrupted'"""
        )
    ).fetchone()
    assert row is not None
    return int(row["n"])
