"""What every measurement shares: a PostgreSQL server, fresh databases on it, a `keel serve` child process
on loopback (tests/process.py's KeelProcess, as in the tests), and latency statistics.

PostgreSQL is `KEEL_BENCH_DATABASE_URL` (a superuser URL; each measurement gets a database of its own on it)
or an embedded server in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from server.db.embedded import scratch_server
from server.db.migrate import upgrade
from tests.process import REPO, KeelProcess

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


def start_keel(database_url: str, folder: Path, *, env: dict[str, str] | None = None, repo: Path = REPO) -> KeelProcess:
    """`keel serve` of checkout `repo` (another version for bench/ab.py) as a child process on loopback, serving
    SERVED_GRAPHS from a temporary langgraph.json; the same KeelProcess the tests use. Not yet ready."""
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": SERVED_GRAPHS}))
    return KeelProcess(
        ["serve"],
        env={
            "DATABASE_URL": database_url,
            "KEEL_CONFIG": str(config),
            "KEEL_LOG_LEVEL": "warning",  # per-run info lines would be part of what is measured
            **(env or {}),
        },
        cwd=folder,
        log=folder / "keel.log",
        repo=repo,
        unset=("OPENAI_API_KEY", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),  # offline model, no tracing
    )


@asynccontextmanager
async def keel_server(database_url: str, *, env: dict[str, str] | None = None) -> AsyncIterator[KeelProcess]:
    folder = Path(tempfile.mkdtemp(prefix="keel-bench-serve-"))
    server = start_keel(database_url, folder, env=env)
    try:
        await asyncio.to_thread(server.wait_ready)
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
