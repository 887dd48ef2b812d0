"""The connection pool: one per process, owned by whoever owns the process (the app lifespan, a worker)."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from server.settings import DatabaseSettings

Connection = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]


def create_pool(url: str, settings: DatabaseSettings) -> Pool:
    """An unopened pool; `await pool.open(wait=True)` fails fast if the database is unreachable.

    autocommit is required by the checkpointer's setup (CREATE INDEX CONCURRENTLY); prepared
    statements are off so keel also works behind pgbouncer in transaction mode.
    """
    return AsyncConnectionPool(
        url,
        min_size=min(settings.pool_min_size, settings.pool_max_size),
        max_size=settings.pool_max_size,
        open=False,
        name="keel",
        connection_class=AsyncConnection[DictRow],
        # After a database restart every pooled connection is dead; checking on checkout replaces them
        # instead of failing one request (or run) per stale connection.
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
