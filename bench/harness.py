"""What every measurement shares: a PostgreSQL server, fresh databases on it, a `keel serve` child process
on loopback, and latency statistics.

PostgreSQL is `KEEL_BENCH_DATABASE_URL` (a superuser URL; each measurement gets a database of its own on it)
or an embedded server in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from server.db.embedded import scratch_server
from server.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
# Graphs the served measurements register through a temporary langgraph.json (importable module entries).
SERVED_GRAPHS = {
    "linear": "bench.graphs:linear",
    "ask": "bench.graphs:ask",
    "support": "graphs.support:build",
}


@contextmanager
def postgres_server() -> Iterator[str]:
    """A superuser URL: KEEL_BENCH_DATABASE_URL, else an embedded server that lives for the bench run."""
    with scratch_server(os.environ.get("KEEL_BENCH_DATABASE_URL"), "keel-bench-pg-") as url:
        yield url


@asynccontextmanager
async def fresh_database(admin_url: str, *, migrate: bool = True) -> AsyncIterator[str]:
    """A new database, dropped afterwards; migrated (keel's tables and the checkpoint schema) unless the
    keel that will use it migrates it itself (another version's migrations may differ: bench/ab.py)."""
    name = f"keel_bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    try:
        if migrate:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
                await upgrade(conn)
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
            await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class KeelServer:
    """`keel serve` as a child process on loopback, serving SERVED_GRAPHS from a temporary langgraph.json."""

    def __init__(
        self, database_url: str, folder: Path, *, env: dict[str, str] | None = None, repo: Path = REPO
    ) -> None:
        config = folder / "langgraph.json"
        config.write_text(json.dumps({"graphs": SERVED_GRAPHS}))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "keel.log"
        full_env = {
            **os.environ,
            "PYTHONPATH": str(repo),  # another checkout serves another version (bench/ab.py)
            "DATABASE_URL": database_url,
            "KEEL_CONFIG": str(config),
            "KEEL_LOG_LEVEL": "warning",  # per-run info lines would be part of what is measured
            **(env or {}),
        }
        for unset in ("OPENAI_API_KEY", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
            full_env.pop(unset, None)  # the offline model, no tracing: the numbers show keel only
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
                env=full_env,
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"keel exited with {self.proc.returncode}:\n{self.log.read_text()}")
                try:
                    if (await http.get(f"{self.base_url}/ok", timeout=1.0)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"keel did not answer /ok within {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@asynccontextmanager
async def keel_server(database_url: str, *, env: dict[str, str] | None = None) -> AsyncIterator[KeelServer]:
    folder = Path(tempfile.mkdtemp(prefix="keel-bench-serve-"))
    server = KeelServer(database_url, folder, env=env)
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of seconds, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ms(ordered[rank])


def latency_summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "mean_ms": ms(statistics.fmean(values)) if values else float("nan"),
    }
