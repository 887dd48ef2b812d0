"""Thread rows (`keel.threads`) and their checkpoints: create, read, search, patch, delete, copy.

`status`, `values` and `interrupts` are kept by the run pipeline (and by state updates); this
module only sets `status = 'idle'` at creation.
"""

from __future__ import annotations

from typing import Any, Literal, LiteralString
from uuid import UUID, uuid4

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import sql
from psycopg.types.json import Jsonb

from server.db.pool import Connection
from server.errors import Conflict, NotFound
from server.serialize import to_json_compatible

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
SortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
SortOrder = Literal["asc", "desc"]
FIELDS = ("thread_id", "created_at", "updated_at", "metadata", "status", "config", "values", "interrupts")


def thread_json(row: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    fields = [f for f in FIELDS if f in select] if select else FIELDS
    return {field: to_json_compatible(row[field]) for field in fields}


async def create_thread(
    conn: Connection, *, thread_id: UUID | None, metadata: dict[str, Any], if_exists: Literal["raise", "do_nothing"]
) -> dict[str, Any]:
    uid = thread_id or uuid4()
    cur = await conn.execute(
        """INSERT INTO keel.threads (thread_id, metadata, status) VALUES (%s, %s, 'idle')
           ON CONFLICT (thread_id) DO NOTHING RETURNING *""",
        (uid, Jsonb(metadata)),
    )
    row = await cur.fetchone()
    if row is not None:
        return row
    if if_exists == "raise":
        raise Conflict(f"thread {uid} already exists")
    return await get_thread(conn, uid)


async def get_thread(conn: Connection, thread_id: UUID, *, lock: bool = False) -> dict[str, Any]:
    query: LiteralString = "SELECT * FROM keel.threads WHERE thread_id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await conn.execute(query, (thread_id,))).fetchone()
    if row is None:
        raise NotFound(f"thread {thread_id} not found")
    return row


def _filters(
    metadata: dict[str, Any] | None, values: dict[str, Any] | None, status: str | None, ids: list[UUID] | None
) -> sql.Composed:
    clauses: list[sql.Composable] = [sql.SQL("TRUE")]
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
    ids: list[UUID] | None,
    limit: int,
    offset: int,
    sort_by: SortBy,
    sort_order: SortOrder,
) -> list[dict[str, Any]]:
    column = "updated_at" if sort_by == "state_updated_at" else sort_by
    query = sql.SQL("SELECT * FROM keel.threads WHERE {} ORDER BY {} {}, thread_id LIMIT {} OFFSET {}").format(
        _filters(metadata, values, status, ids),
        sql.Identifier(column),
        sql.SQL("ASC" if sort_order == "asc" else "DESC"),
        sql.Literal(limit),
        sql.Literal(offset),
    )
    return await (await conn.execute(query)).fetchall()


async def count_threads(
    conn: Connection, *, metadata: dict[str, Any] | None, values: dict[str, Any] | None, status: ThreadStatus | None
) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM keel.threads WHERE {}").format(_filters(metadata, values, status, None))
    row = await (await conn.execute(query)).fetchone()
    return int(row["n"]) if row else 0


async def patch_thread(conn: Connection, thread_id: UUID, metadata: dict[str, Any]) -> dict[str, Any]:
    """Merge `metadata` into the thread's (top-level keys; a given key replaces the old value)."""
    cur = await conn.execute(
        """UPDATE keel.threads SET metadata = metadata || %s, updated_at = now()
           WHERE thread_id = %s RETURNING *""",
        (Jsonb(metadata), thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"thread {thread_id} not found")
    return row


async def delete_thread(conn: Connection, saver: AsyncPostgresSaver, thread_id: UUID) -> None:
    """The row, its runs and their events (foreign keys cascade), then its checkpoints. Refused while a run
    is active: its worker would go on writing checkpoints for a thread that no longer exists."""
    active = await (
        await conn.execute(
            """SELECT run_id, status FROM keel.runs WHERE thread_id = %s AND status IN ('pending', 'running')
               LIMIT 1""",
            (thread_id,),
        )
    ).fetchone()
    if active is not None:
        raise Conflict(
            f"thread {thread_id} has a {active['status']} run ({active['run_id']}); cancel it "
            "(POST /threads/{thread_id}/runs/{run_id}/cancel) before deleting the thread"
        )
    cur = await conn.execute("DELETE FROM keel.threads WHERE thread_id = %s RETURNING thread_id", (thread_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"thread {thread_id} not found")
    await saver.adelete_thread(str(thread_id))


async def delete_threads_with_metadata(conn: Connection, saver: AsyncPostgresSaver, metadata: dict[str, Any]) -> int:
    """Delete every thread whose metadata contains `metadata`; returns how many."""
    cur = await conn.execute("SELECT thread_id FROM keel.threads WHERE metadata @> %s", (Jsonb(metadata),))
    thread_ids = [row["thread_id"] for row in await cur.fetchall()]
    for thread_id in thread_ids:
        await delete_thread(conn, saver, thread_id)
    return len(thread_ids)


_COPY_CHECKPOINTS = (
    """INSERT INTO checkpoints
           (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
       SELECT %(new)s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,
              CASE WHEN metadata ? 'thread_id' THEN jsonb_set(metadata, '{thread_id}', to_jsonb(%(new)s::text))
                   ELSE metadata END
       FROM checkpoints WHERE thread_id = %(old)s""",
    """INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
       SELECT %(new)s, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = %(old)s""",
    """INSERT INTO checkpoint_writes
           (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
       SELECT %(new)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
       FROM checkpoint_writes WHERE thread_id = %(old)s""",
)


async def copy_thread(conn: Connection, thread_id: UUID) -> dict[str, Any]:
    """A new thread with the same metadata, values and the whole checkpoint history, in one
    transaction. A copy of a busy thread starts idle (the run belongs to the original)."""
    new_id = uuid4()
    async with conn.transaction():
        cur = await conn.execute(
            """INSERT INTO keel.threads (thread_id, metadata, status, config, "values", interrupts)
               SELECT %s, metadata, CASE WHEN status = 'busy' THEN 'idle' ELSE status END,
                      config, "values", interrupts
               FROM keel.threads WHERE thread_id = %s RETURNING *""",
            (new_id, thread_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"thread {thread_id} not found")
        for statement in _COPY_CHECKPOINTS:
            await conn.execute(statement, {"new": str(new_id), "old": str(thread_id)})
    return row
