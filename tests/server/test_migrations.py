from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from server.db.migrate import Migration, MigrationError, load_migrations, pending_versions, upgrade
from tests.process import KEEL, REPO


async def _connect(url: str) -> psycopg.AsyncConnection[dict]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)


async def _count(url: str, query: str) -> int:
    async with await _connect(url) as conn:
        row = await (await conn.execute(query.encode())).fetchone()
        assert row is not None
        return int(next(iter(row.values())))


# Each migration counts its own runs: a second application would fail on the primary key.
RECORDING = [
    Migration(1, "ledger", "CREATE TABLE applied_log (version int PRIMARY KEY); INSERT INTO applied_log VALUES (1);"),
    Migration(2, "slow", "SELECT pg_sleep(0.3); INSERT INTO applied_log VALUES (2);"),
    Migration(3, "third", "INSERT INTO applied_log VALUES (3);"),
]


async def test_upgrade_applies_everything_once_then_nothing(empty_database_url: str):
    async with await _connect(empty_database_url) as conn:
        assert await pending_versions(conn) == [m.version for m in load_migrations()]
        first = await upgrade(conn)
        second = await upgrade(conn)
        assert [m.version for m in first] == [m.version for m in load_migrations()]
        assert second == []
        assert await pending_versions(conn) == []
    assert await _count(empty_database_url, "SELECT count(*) FROM keel.schema_migrations") == len(first)
    # keel's tables and LangGraph's checkpoint tables both exist
    for table in ("keel.threads", "keel.runs", "keel.run_events", "public.checkpoints", "public.checkpoint_writes"):
        assert await _count(empty_database_url, f"SELECT count(*) FROM {table}") == 0


async def test_concurrent_upgrades_apply_each_migration_exactly_once(empty_database_url: str):
    conns = [await _connect(empty_database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(upgrade(conn, RECORDING) for conn in conns))
    finally:
        for conn in conns:
            await conn.close()
    applied = sorted(m.version for result in results for m in result)
    assert applied == [1, 2, 3], "each migration is applied by exactly one of the racing upgrades"
    assert await _count(empty_database_url, "SELECT count(*) FROM applied_log") == 3


@pytest.mark.slow  # runs the keel CLI in child processes
def test_two_processes_starting_at_once_apply_each_migration_once(empty_database_url: str, tmp_path: Path):
    env = {"DATABASE_URL": empty_database_url, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen([*KEEL, "db", "upgrade"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    assert sorted(outputs) == sorted(["keel db upgrade: nothing to do\n", f"keel db upgrade: {_all_names()}\n"]), (
        "one process applies everything, the other finds nothing to do"
    )
    rows = asyncio.run(_count(empty_database_url, "SELECT count(*) FROM keel.schema_migrations"))
    assert rows == len(load_migrations())


def _all_names() -> str:
    return ", ".join(f"{m.version:04d}_{m.name}" for m in load_migrations())


async def test_an_edited_applied_migration_is_refused(empty_database_url: str):
    async with await _connect(empty_database_url) as conn:
        await upgrade(conn, RECORDING[:1])
        edited = Migration(1, "ledger", RECORDING[0].sql + " -- edited")
        with pytest.raises(MigrationError, match="0001_ledger was changed after it was applied"):
            await upgrade(conn, [edited])


async def test_a_failing_migration_leaves_nothing_half_applied(empty_database_url: str):
    broken = [RECORDING[0], Migration(2, "broken", "INSERT INTO applied_log VALUES (2); SELECT 1/0;")]
    async with await _connect(empty_database_url) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await upgrade(conn, broken)
        assert await upgrade(conn, RECORDING[:1]) == []
    assert await _count(empty_database_url, "SELECT count(*) FROM applied_log") == 1
    assert await _count(empty_database_url, "SELECT max(version) FROM keel.schema_migrations") == 1


def test_migration_files_are_named_and_numbered(tmp_path: Path):
    (tmp_path / "0001_ok.sql").write_text("SELECT 1;")
    (tmp_path / "1_bad name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"is not named NNNN_name\.sql"):
        load_migrations(tmp_path)
