"""The thread checks every thread, state, run and stream operation makes: the auth handler for the action,
then its filters applied to the thread row in SQL. A thread outside them is a 404, as an unknown one is:
the answer never tells another caller's thread from a missing one."""

from __future__ import annotations

import uuid
from typing import Any

from server.auth.access import Access
from server.auth.filters import Filters
from server.db.pool import Connection
from server.runs import store


async def visible_thread(
    conn: Connection, access: Access, action: str, thread_id: uuid.UUID, value: dict[str, Any] | None = None
) -> Filters | None:
    """Authorize `threads.<action>` on the thread; NotFound unless the thread exists within the filters."""
    filters = await access.authorize("threads", action, {"thread_id": thread_id, **(value or {})})
    await store.check_thread_visible(conn, thread_id, filters)
    return filters


async def thread_filters(access: Access, action: str, value: dict[str, Any]) -> Filters | None:
    """The filters of `threads.<action>` for an operation over many threads (a search, a count)."""
    return await access.authorize("threads", action, value)
