"""Fixtures for the desk tools: a pool on a fresh database that holds the seeded `desk` schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from tools.db import Pool


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Pool]:
    """The pool a worker hands to tools (autocommit, dict rows, as server/db/pool.py builds it)."""
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=6,
        open=False,
        connection_class=AsyncConnection[DictRow],
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()
