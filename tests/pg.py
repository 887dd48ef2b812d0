"""Test databases on real PostgreSQL: the server at KEEL_TEST_DATABASE_URL, or one embedded server.

Each test gets a database of its own, cloned from a template that already has keel's migrations
and the checkpoint schema, so a fresh database costs one CREATE DATABASE.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from server.db.migrate import upgrade


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (keeps host, socket dir and options)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def durable_no_more(admin_url: str) -> None:
    """Stop a throwaway server from flushing to disk: a test run clones hundreds of databases, and on a busy
    disk each flush is a wait. Only for the embedded server the tests start (its data is deleted after)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")


def create_database(admin_url: str, *, template: str | None = None) -> str:
    name = f"keel_test_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def _migrate(url: str) -> None:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
    async with conn:
        await upgrade(conn)


def migrated_template(admin_url: str) -> str:
    name = create_database(admin_url)
    asyncio.run(_migrate(with_database(admin_url, name)))
    return name


@contextmanager
def scratch_database(admin_url: str, *, template: str | None = None) -> Iterator[str]:
    name = create_database(admin_url, template=template)
    try:
        yield with_database(admin_url, name)
    finally:
        drop_database(admin_url, name)
