"""Run keel as a real child process, the way an operator does, and wait for it to answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEEL = [sys.executable, "-m", "server.cli"]
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class KeelProcess:
    """`keel <args>` in a child process with its own environment; output goes to a log file."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path, port: int | None = None) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*KEEL, *args, "--port", str(self.port)] if args[:1] == ["serve"] else [*KEEL, *args],
                env=full_env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Seconds until `GET /ok` answered 200; fails if the process dies or time runs out."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"keel exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/ok", timeout=1.0).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"keel did not answer /ok within {timeout}s:\n{self.output()}")

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        """Wait until the process has printed `text` (e.g. a worker's start line)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"keel exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"keel did not print {text!r} within {timeout}s:\n{self.output()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
