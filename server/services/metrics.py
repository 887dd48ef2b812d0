"""What `/metrics` reads from the database at scrape time: the queue and interrupt gauges, database-wide."""

from __future__ import annotations

from server.db.pool import Pool
from server.observability.metrics import set_database_gauges
from server.runs import store


async def refresh_database_gauges(pool: Pool) -> None:
    async with pool.connection() as conn:
        depth, oldest = await store.queue_depth(conn)
        interrupts = await store.count_pending_interrupts(conn)
    set_database_gauges(queue_depth=depth, oldest_pending_s=oldest, pending_interrupts=interrupts)
