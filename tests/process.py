"""The one way tests and bench start keel: a real child process (`keel serve` / `keel worker`), the way an
operator runs it, that is waited for until it answers. Stand-ins that are not keel (an OTLP receiver, an
OpenAI-compatible stub) run in a thread instead: tests/loopback.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import httpx

from tests.waiting import READY_TIMEOUT, scaled, wait_until

KEEL = [sys.executable, "-m", "server.cli"]
REPO = Path(__file__).resolve().parent.parent


def end_process(proc: subprocess.Popen[bytes], *, timeout: float, sig: signal.Signals = signal.SIGTERM) -> bool:
    """Send `sig` (unless it has exited) and wait up to `timeout`; kill it if it is still running then.
    True: it exited by itself in time."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class KeelProcess:
    """`keel <args>` in a child process with its own environment; output goes to a log file.

    `repo` is the checkout whose keel runs (bench/ab.py serves another version); `unset` names variables of
    this process's environment the child must not inherit."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        log: Path,
        port: int | None = None,
        repo: Path = REPO,
        unset: Iterable[str] = (),
    ) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "PYTHONPATH": str(repo), **env}
        for name in unset:
            full_env.pop(name, None)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*KEEL, *args, "--port", str(self.port)] if args[:1] == ["serve"] else [*KEEL, *args],
                env=full_env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"keel exited with {self.proc.returncode}:\n{self.output()}")

    def _answers(self) -> bool:
        self._alive()
        try:
            return httpx.get(f"{self.base_url}/ok", timeout=5.0).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until `GET /ok` answers 200; fails at once if the process dies."""
        wait_until(self._answers, timeout=timeout, what=lambda: f"keel to answer /ok:\n{self.output()}", interval=0.1)

    def wait_for_output(self, text: str, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the process has printed `text` (e.g. a worker's start line)."""

        def printed() -> bool:
            if text in self.output():
                return True
            self._alive()
            return False

        wait_until(printed, timeout=timeout, what=lambda: f"keel to print {text!r}:\n{self.output()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float | None = None) -> int:
        """Send `sig` and wait for the exit code; a process still running at the deadline is killed."""
        if not end_process(self.proc, timeout=scaled(60) if timeout is None else timeout, sig=sig):
            raise AssertionError(f"keel did not exit after {sig.name}:\n{self.output()}")
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")
