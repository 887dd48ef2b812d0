"""Helpers for tool tests: call a tool the way the tool runner does, and read desk rows back."""

from __future__ import annotations

import uuid
from typing import Any

from tools import TOOLS
from tools.db import Pool
from tools.spec import ToolCall


def tool_call(db: Pool, key: str | None = None) -> ToolCall:
    return ToolCall(
        db=db, idempotency_key=f"test:{uuid.uuid4()}" if key is None else key, thread_id="thread-test", agent="test"
    )


async def run_tool(db: Pool, tool: str, /, *, key: str | None = None, **arguments: Any) -> Any:
    """Validate `arguments` against the tool's schema and run it, as the tool runner does; a fresh
    idempotency key unless `key` is given."""
    spec = TOOLS[tool]
    return await spec.run(spec.args.model_validate(arguments), tool_call(db, key))


async def rows(db: Pool, query: str, *params: Any) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        return await (await conn.execute(query.encode(), params or None)).fetchall()


async def count(db: Pool, query: str, *params: Any) -> int:
    [row] = await rows(db, query, *params)
    return int(next(iter(row.values())))
