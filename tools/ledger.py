"""Exactly-once side effects: every write records its result under the call's idempotency key in
`desk.tool_effects`, in the same transaction as the write itself.

The ledger row is claimed first (`INSERT … ON CONFLICT DO NOTHING`). A second call with the same key
blocks on that insert until the first transaction ends: if it committed, the second call returns the
stored result and writes nothing; if it rolled back (a ToolError, a crash), the second call does the
work itself. So a replay after a crash, a retried run or two racing workers cause one effect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from psycopg.types.json import Jsonb

from tools.db import Connection, Row, pool
from tools.spec import ToolCall

Write = Callable[[Connection], Awaitable[Row]]


class IdempotencyKeyReused(RuntimeError):
    """The key was recorded for another tool: a bug in whoever derives keys, not the model's doing."""


async def write_once(call: ToolCall, tool: str, write: Write) -> Row:
    """Run `write(conn)` inside a transaction unless `call.idempotency_key` already has an effect; return
    the recorded result (as stored, so the first call and every repeat return equal values)."""
    key = call.idempotency_key
    if not key:
        raise ValueError(f"{tool}: a write needs a non-empty idempotency key")
    async with pool(call).connection() as conn, conn.transaction():
        claimed = await (
            await conn.execute(
                # 'null' is a placeholder: the real result replaces it before this transaction commits.
                "INSERT INTO desk.tool_effects (idempotency_key, tool, result) VALUES (%s, %s, 'null')"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
                (key, tool),
            )
        ).fetchone()
        if claimed is None:
            return await _recorded(conn, key, tool)
        result = await write(conn)
        stored = await (
            await conn.execute(
                "UPDATE desk.tool_effects SET result = %s WHERE idempotency_key = %s RETURNING result",
                (Jsonb(result), key),
            )
        ).fetchone()
        assert stored is not None  # the row was claimed by this transaction
        return cast(Row, stored["result"])


async def _recorded(conn: Connection, key: str, tool: str) -> Row:
    row = await (
        await conn.execute("SELECT tool, result FROM desk.tool_effects WHERE idempotency_key = %s", (key,))
    ).fetchone()
    assert row is not None  # the conflicting insert committed, so the row exists
    if row["tool"] != tool:
        raise IdempotencyKeyReused(f"idempotency key {key!r} was already used by tool {row['tool']!r}, not {tool!r}")
    return cast(Row, row["result"])
