"""STUB of the lead's auth core interface (CORE14.md); main's file replaces this one at the merge."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.auth.access import Access
from server.db.pool import Connection
from server.errors import NotFound
from server.runs import store


async def thread_filters(access: Access, action: str, value: dict[str, Any]) -> dict[str, Any] | None:
    return await access.authorize("threads", action, value)


async def visible_thread(
    conn: Connection, access: Access, action: str, thread_id: UUID, value: dict[str, Any] | None = None
) -> None:
    filters = await access.authorize("threads", action, value if value is not None else {"thread_id": thread_id})
    row = await store.get_thread(conn, thread_id)
    if filters and any((row["metadata"] or {}).get(key) != wanted for key, wanted in filters.items()):
        raise NotFound(f"thread {thread_id} not found")
