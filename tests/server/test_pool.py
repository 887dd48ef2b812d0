"""The pool fails a checkout fast only when the database is unreachable; a busy pool still waits its timeout."""

from __future__ import annotations

import asyncio

import pytest
from psycopg_pool import PoolTimeout

from server.db import pool as pool_module
from server.db.pool import create_pool
from server.settings import DatabaseSettings
from tests.pg import with_database


async def test_a_busy_pool_waits_past_the_unreachable_wait(database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pool_module, "UNREACHABLE_WAIT_S", 0.05)
    pool = create_pool(database_url, DatabaseSettings(KEEL_DB_POOL_MIN=1, KEEL_DB_POOL_MAX=1))
    await pool.open(wait=True)
    try:
        held = await pool.getconn()
        waiter = asyncio.create_task(pool.getconn(timeout=10))
        await asyncio.sleep(0.3)  # several waits of UNREACHABLE_WAIT_S go by with the only connection in use
        assert not waiter.done()
        await pool.putconn(held)
        await pool.putconn(await asyncio.wait_for(waiter, timeout=10))
        assert pool.unreachable is None
    finally:
        await pool.close()


async def test_an_unreachable_database_fails_a_checkout_at_once_and_says_why(database_url: str):
    nowhere = with_database(database_url, "keel_no_such_database")
    pool = create_pool(nowhere, DatabaseSettings())
    await pool.open(wait=False)
    try:
        with pytest.raises(PoolTimeout, match="database unreachable"):
            await pool.getconn(timeout=30)
        assert pool.unreachable is not None and "keel_no_such_database" in pool.unreachable
    finally:
        await pool.close()
