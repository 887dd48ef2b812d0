"""The connection pool: one per process, owned by whoever owns the process (the app lifespan, a worker)."""

from __future__ import annotations

import select
import time

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from server.settings import DatabaseSettings
from tools.db import Connection as Connection  # declared once, where tools see the same connections

# While the database is unreachable, a checkout gives up after this long instead of the pool's timeout:
# requests answer 503 at once, and the worker's loops and a shutdown are not held by a dead database.
UNREACHABLE_WAIT_S = 1.0
# A new connection that gets no answer (a host that drops packets) counts as a failed attempt after this long.
CONNECT_TIMEOUT_S = 5


class KeelPool(AsyncConnectionPool[Connection]):
    """A pool that knows whether the database is reachable: `unreachable` is why the latest attempt to open a
    connection failed, None once one succeeds. A checkout waits in slices of UNREACHABLE_WAIT_S and stops
    waiting as soon as the database is known to be unreachable (a busy pool still waits its full timeout)."""

    unreachable: str | None = None

    async def getconn(self, timeout: float | None = None) -> Connection:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            try:
                conn = await super().getconn(min(left, UNREACHABLE_WAIT_S))
            except PoolTimeout:
                if self.unreachable is not None:
                    raise PoolTimeout(f"database unreachable: {self.unreachable}") from None
                if left <= UNREACHABLE_WAIT_S:
                    raise
            else:
                self.unreachable = None  # a checked connection answered (whatever an older attempt said)
                return conn

    async def _connect(self, timeout: float | None = None) -> Connection:
        # psycopg_pool's one place that opens connections (the pool's own refills and growth): the only
        # first-hand sign that the database is down or back.
        try:
            conn = await super()._connect(timeout)
        except Exception as exc:
            self.unreachable = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise
        self.unreachable = None
        return conn


Pool = KeelPool


def _socket_readable(conn: Connection) -> bool:
    """An idle pooled connection has nothing to read. When the server closed it (a restart, an admin's
    pg_terminate_backend), the EOF or the server's farewell message is waiting on the socket."""
    if conn.closed or conn.broken:
        return True
    readable, _, errored = select.select([conn.fileno()], [], [conn.fileno()], 0)
    return bool(readable or errored)


async def check_if_suspect(conn: Connection) -> None:
    """The checkout check, without a round trip per checkout: only a connection whose socket has something
    to say gets the full check (an empty query), which raises for a dead one so the pool replaces it."""
    if _socket_readable(conn):
        await AsyncConnectionPool.check_connection(conn)


def create_pool(url: str, settings: DatabaseSettings) -> Pool:
    """An unopened pool; `await pool.open(wait=True)` fails fast if the database is unreachable.

    autocommit is required by the checkpointer's setup (CREATE INDEX CONCURRENTLY). A statement is prepared
    on a connection after `KEEL_DB_PREPARE_THRESHOLD` runs there: the hot ones (event appends, checkpoint
    writes, claims) then skip PostgreSQL's parse and plan, which was a third of its CPU per run. psycopg's 0
    would prepare *every* statement on first use, so the setting's 0 maps to None: none at all.
    """
    return KeelPool(
        url,
        min_size=min(settings.pool_min_size, settings.pool_max_size),
        max_size=settings.pool_max_size,
        open=False,
        name="keel",
        connection_class=AsyncConnection[DictRow],
        # After a database restart every pooled connection is dead; checking on checkout replaces them
        # instead of failing one request (or run) per stale connection. The check costs a round trip only
        # for a connection whose socket shows a sign of trouble (see check_if_suspect).
        check=check_if_suspect,
        kwargs={
            "autocommit": True,
            "prepare_threshold": settings.prepare_threshold or None,
            "row_factory": dict_row,
            "connect_timeout": CONNECT_TIMEOUT_S,
        },
    )
