"""keel processes (API-only servers and workers) on one database, started and killed by a test."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import psycopg

from tests.process import KeelProcess
from tests.server.runs.serving import create_side_effect_tables, write_config
from tests.waiting import scaled

# Long enough that a worker starved of CPU on a busy machine still renews its lease in time (a lost lease is a
# second attempt the test did not cause), short enough that a killed worker's runs are retried soon.
LEASE_S = scaled(5)


class Cluster:
    """keel processes on one database, started and killed by the test."""

    def __init__(self, folder: Path, url: str, *, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.url = url
        self.base_env = env or {}  # added to every process's environment (e.g. Langfuse keys)
        self.config = write_config(folder)
        self.procs: list[KeelProcess] = []
        create_side_effect_tables(url)

    def env(self, **extra: str) -> dict[str, str]:
        base = {"DATABASE_URL": self.url, "KEEL_CONFIG": str(self.config), "KEEL_RUN_POLL": "0.2"}
        return base | self.base_env | extra

    def serve(self, name: str, *args: str, port: int | None = None, **extra: str) -> KeelProcess:
        """`keel serve ARGS` (API and workers, or API only with --no-worker), ready to answer."""
        proc = KeelProcess(
            ["serve", *args], env=self.env(**extra), cwd=self.folder, log=self.folder / f"{name}.log", port=port
        )
        self.procs.append(proc)
        proc.wait_ready()
        return proc

    def api(self, name: str, *, port: int | None = None) -> KeelProcess:
        return self.serve(name, "--no-worker", port=port)

    def worker(
        self, name: str, *, size: int = 4, lease: float = LEASE_S, extra: dict[str, str] | None = None
    ) -> KeelProcess:
        proc = KeelProcess(
            ["worker", "--size", str(size)],
            env=self.env(KEEL_RUN_LEASE=str(lease), KEEL_SHUTDOWN_GRACE="0.5", **(extra or {})),
            cwd=self.folder,
            log=self.folder / f"{name}.log",
        )
        self.procs.append(proc)
        proc.wait_for_output("keel worker: running")
        return proc

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop(signal.SIGKILL if proc.proc.poll() is None else signal.SIGTERM)
