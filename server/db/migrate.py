"""Versioned SQL migrations for keel's own tables, plus LangGraph's checkpoint and store schemas.

Files in `migrations/` are named `NNNN_name.sql` and applied in order, each in its own transaction
together with its row in `keel.schema_migrations`. The whole upgrade runs under a PostgreSQL
advisory lock, so processes that start at once apply each migration exactly once: the first does
the work, the others wait and then find nothing left to do.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from langgraph.store.postgres.base import PostgresIndexConfig

from server.db.pool import Connection

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed 64-bit number; it only has to be the same in every keel process.
ADVISORY_LOCK_KEY = 0x6B65656C5F6D6967  # "keel_mig"
_LOCK_POLL_S = 0.05
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The database and keel's migration files disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name!r} is not named NNNN_name.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return migrations


async def _applied(conn: Connection) -> dict[int, str]:
    await conn.execute("CREATE SCHEMA IF NOT EXISTS keel")
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS keel.schema_migrations (
               version    integer PRIMARY KEY,
               name       text NOT NULL,
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    rows = await (await conn.execute("SELECT version, checksum FROM keel.schema_migrations")).fetchall()
    return {row["version"]: row["checksum"] for row in rows}


async def _lock(conn: Connection) -> None:
    """Take the migration lock, polling: a session blocked in pg_advisory_lock() holds a snapshot, and
    the checkpointer's CREATE INDEX CONCURRENTLY in the lock holder would wait on it forever."""
    while True:
        row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (ADVISORY_LOCK_KEY,))).fetchone()
        if row is not None and row["ok"]:
            return
        await asyncio.sleep(_LOCK_POLL_S)


async def upgrade(
    conn: Connection, migrations: list[Migration] | None = None, *, store_index: PostgresIndexConfig | None = None
) -> list[Migration]:
    """Apply what is pending; return what this call applied. `conn` must be in autocommit mode.
    `store_index` (langgraph.json's `store.index`) also sets up the store's vector table (pgvector)."""
    migrations = load_migrations() if migrations is None else migrations
    await _lock(conn)
    try:
        applied = await _applied(conn)
        pending = []
        for migration in migrations:
            recorded = applied.get(migration.version)
            if recorded is None:
                pending.append(migration)
            elif recorded != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was changed after it was "
                    "applied; add a new migration instead of editing an applied one"
                )
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql.encode(), prepare=False)
                await conn.execute(
                    "INSERT INTO keel.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
        await AsyncPostgresSaver(conn).setup()
        await AsyncPostgresStore(conn, index=store_index).setup()
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


async def pending_versions(conn: Connection) -> list[int]:
    """Versions not yet applied (empty when the database is current). Read-only."""
    exists = await (await conn.execute("SELECT to_regclass('keel.schema_migrations') AS t")).fetchone()
    applied: set[int] = set()
    if exists is not None and exists["t"] is not None:
        rows = await (await conn.execute("SELECT version FROM keel.schema_migrations")).fetchall()
        applied = {row["version"] for row in rows}
    return [m.version for m in load_migrations() if m.version not in applied]
