"""An assistant's stored versions (`keel.assistant_versions`, the only module with SQL on that table).

As on LangGraph Server: creating an assistant stores version 1; every PATCH stores version N+1 (N the highest
stored) built from the current configuration with the changes applied, and makes it current; setting the
latest version copies a stored version back onto the assistant row. Versions are listed newest first.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from server.db.pool import Connection
from server.serialize import to_json_compatible

FIELDS = ("assistant_id", "graph_id", "config", "context", "created_at", "metadata", "version", "name", "description")


def version_json(row: dict[str, Any]) -> dict[str, Any]:
    return {field: to_json_compatible(row[field]) for field in FIELDS}


async def store_version(conn: Connection, assistant: dict[str, Any]) -> None:
    """Store the assistant row's configuration as its version `assistant["version"]`."""
    await conn.execute(
        """INSERT INTO keel.assistant_versions
               (assistant_id, version, graph_id, name, description, config, context, metadata)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            assistant["assistant_id"],
            assistant["version"],
            assistant["graph_id"],
            assistant["name"],
            assistant["description"],
            Jsonb(assistant["config"]),
            Jsonb(assistant["context"]),
            Jsonb(assistant["metadata"]),
        ),
    )


async def next_version(conn: Connection, assistant_id: UUID) -> int:
    """One more than the highest stored version (not the current one: after going back to version 1 of 3,
    the next PATCH stores version 4). The caller holds the assistant row's lock."""
    cur = await conn.execute(
        "SELECT coalesce(max(version), 0) + 1 AS next FROM keel.assistant_versions WHERE assistant_id = %s",
        (assistant_id,),
    )
    row = await cur.fetchone()
    return int(row["next"]) if row else 1


async def list_versions(
    conn: Connection, assistant_id: UUID, *, metadata: dict[str, Any] | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """A page of versions, newest first; `metadata` matches versions whose metadata contains it."""
    cur = await conn.execute(
        """SELECT * FROM keel.assistant_versions WHERE assistant_id = %s AND metadata @> %s
           ORDER BY version DESC LIMIT %s OFFSET %s""",
        (assistant_id, Jsonb(metadata or {}), limit, offset),
    )
    return await cur.fetchall()


async def get_version(conn: Connection, assistant_id: UUID, version: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT * FROM keel.assistant_versions WHERE assistant_id = %s AND version = %s", (assistant_id, version)
    )
    return await cur.fetchone()
