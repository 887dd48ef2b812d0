"""Threads: create, read, search, patch, delete, copy, and their JSON. The rows are the store's
(`server.runs.store`); the checkpoints are LangGraph's, copied or deleted with them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID, uuid4

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from server.auth.access import Access
from server.db.pool import Connection
from server.errors import Conflict, NotFound
from server.records import Thread, ThreadStatus, ThreadTTL
from server.runs import store
from server.runs.store import SortBy, SortOrder, thread_ids_with_metadata
from server.serialize import to_json_compatible
from server.services.access import thread_filters, visible_thread

__all__ = [
    "SortBy",
    "SortOrder",
    "ThreadStatus",
    "copy_thread",
    "count_threads",
    "create_thread",
    "delete_thread",
    "get_thread",
    "patch_thread",
    "search_threads",
    "thread_ids_with_metadata",
    "thread_json",
    "thread_storage",
    "ttl_json",
]
FIELDS = ("thread_id", "created_at", "updated_at", "metadata", "status", "config", "values", "interrupts")


def thread_json(row: Thread, select: list[str] | None = None) -> dict[str, Any]:
    fields = [f for f in FIELDS if f in select] if select else FIELDS
    columns: Mapping[str, object] = row
    return {field: to_json_compatible(columns[field]) for field in fields}


def ttl_json(row: Thread) -> dict[str, Any] | None:
    """The thread's TTL as LangGraph Server shows it with `?include=ttl`; None when it has none."""
    if row["ttl_strategy"] is None:
        return None
    return {
        "strategy": row["ttl_strategy"],
        "ttl_minutes": row["ttl_minutes"],
        "expires_at": to_json_compatible(row["expires_at"]),
    }


async def create_thread(
    conn: Connection,
    access: Access,
    *,
    thread_id: UUID | None,
    metadata: dict[str, Any],
    if_exists: Literal["raise", "do_nothing"],
    ttl: ThreadTTL | None = None,
) -> Thread:
    """A new thread; its metadata as the `threads.create` handler leaves it (e.g. stamped with an owner). With
    `do_nothing`, an existing thread is answered only within the handler's filters (else 409, as `raise`)."""
    uid = thread_id or uuid4()
    value: dict[str, Any] = {"thread_id": uid, "metadata": dict(metadata), "if_exists": if_exists, "ttl": ttl}
    filters = await access.authorize("threads", "create", value)
    row = await store.insert_thread(conn, uid, value.get("metadata") or {}, ttl)
    if row is not None:
        return row
    if if_exists == "do_nothing":
        try:
            await store.check_thread_visible(conn, uid, filters)
            return await store.get_thread(conn, uid)
        except NotFound:
            pass
    raise Conflict(f"thread {uid} already exists")


async def get_thread(conn: Connection, access: Access, thread_id: UUID) -> Thread:
    await visible_thread(conn, access, "read", thread_id)
    return await store.get_thread(conn, thread_id)


async def search_threads(conn: Connection, access: Access, **search: Any) -> list[Thread]:
    """`threads.search` as the caller may see it: the handler's filters join the query's."""
    value = {key: search.get(key) for key in ("values", "status", "limit", "offset")}
    value["metadata"] = dict(search.get("metadata") or {})  # handlers `setdefault` it, as on LangGraph Server
    filters = await thread_filters(access, "search", value)
    return await store.search_threads(conn, **search, auth=filters)


async def count_threads(conn: Connection, access: Access, **search: Any) -> int:
    value = {key: search.get(key) for key in ("values", "status")}
    value["metadata"] = dict(search.get("metadata") or {})
    filters = await thread_filters(access, "search", value)
    return await store.count_threads(conn, **search, auth=filters)


async def patch_thread(
    conn: Connection, access: Access, thread_id: UUID, metadata: dict[str, Any], ttl: ThreadTTL | None = None
) -> Thread:
    """Merge `metadata` (as the `threads.update` handler leaves it) into the thread's."""
    value: dict[str, Any] = {"metadata": dict(metadata)}
    await visible_thread(conn, access, "update", thread_id, value)
    return await store.patch_thread(conn, thread_id, value.get("metadata") or {}, ttl)


async def delete_thread(conn: Connection, saver: AsyncPostgresSaver, thread_id: UUID) -> None:
    # Authorized by the caller (`RunService.delete_thread`), which first stops the thread's runs.
    """The row, its runs and their events (foreign keys cascade), then its checkpoints. Refused while a run
    is active: its worker would go on writing checkpoints for a thread that no longer exists (the API's
    delete, `RunService.delete_thread`, stops the thread's runs first). The locked row orders the check and
    the delete with run creates, which lock it too."""
    async with conn.transaction():
        await store.get_thread(conn, thread_id, lock=True)
        active = await store.active_run(conn, thread_id)
        if active is not None:
            raise Conflict(f"thread {thread_id} has a {active['status']} run ({active['run_id']})")
        await store.delete_thread_row(conn, thread_id)
    await saver.adelete_thread(str(thread_id))


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


async def copy_thread(conn: Connection, access: Access, thread_id: UUID) -> Thread:
    """A new thread with the same metadata, values and the whole checkpoint history, in one
    transaction. A copy of a busy thread starts idle (the run belongs to the original). The caller must
    read the thread (`threads.read`) and create one (`threads.create`, as LangGraph Server asks)."""
    await visible_thread(conn, access, "read", thread_id)
    new_id = uuid4()
    metadata = (await store.get_thread(conn, thread_id))["metadata"]
    value: dict[str, Any] = {"thread_id": new_id, "metadata": dict(metadata), "if_exists": "raise"}
    await access.authorize("threads", "create", value)
    async with conn.transaction():
        row = await store.copy_thread_row(conn, thread_id, new_id)
        if value.get("metadata") != metadata:  # the handler stamped the copy (its new owner, say)
            row = await store.patch_thread(conn, new_id, value.get("metadata") or {})
        for statement in _COPY_CHECKPOINTS:
            await conn.execute(statement, {"new": str(new_id), "old": str(thread_id)})
    return row


_STORAGE = """SELECT
    (SELECT jsonb_build_object('count', count(*),
                               'bytes', coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0))
     FROM checkpoints WHERE thread_id = %(thread)s) AS checkpoints,
    (SELECT jsonb_build_object('count', coalesce(sum(versions), 0), 'bytes', coalesce(sum(bytes), 0),
                               'by_channel', coalesce(jsonb_object_agg(channel, jsonb_build_object(
                                   'versions', versions, 'bytes', bytes)), '{}'::jsonb))
     FROM (SELECT channel, count(*) AS versions, coalesce(sum(octet_length(blob)), 0) AS bytes
           FROM checkpoint_blobs WHERE thread_id = %(thread)s GROUP BY channel) c) AS channel_values,
    (SELECT jsonb_build_object('count', count(*), 'bytes', coalesce(sum(octet_length(blob)), 0))
     FROM checkpoint_writes WHERE thread_id = %(thread)s) AS pending_writes"""


async def thread_storage(conn: Connection, access: Access, thread_id: UUID) -> dict[str, Any]:
    """The bytes the thread's checkpoints take, as stored: checkpoint rows, channel values (per channel),
    pending writes (LangGraph Server's `GET /threads/{id}/storage`)."""
    await visible_thread(conn, access, "read", thread_id)
    await store.get_thread(conn, thread_id)  # 404 for an unknown thread
    row = await (await conn.execute(_STORAGE, {"thread": str(thread_id)})).fetchone()
    assert row is not None
    sections = {name: row[name] for name in ("checkpoints", "channel_values", "pending_writes")}
    total = sum(int(section["bytes"]) for section in sections.values())
    return {"thread_id": str(thread_id), "total_bytes": total, **sections}
