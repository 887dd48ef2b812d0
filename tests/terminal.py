"""A command in a pseudo-terminal (the stdlib pty module), driven as a person would: wait for text to appear,
type a line, press Ctrl-C or Ctrl-D. Ctrl-C goes through the terminal, which signals the foreground process."""

from __future__ import annotations

import os
import pty
import threading

from tests.waiting import DEFAULT_TIMEOUT, scaled, wait_until

CTRL_C = b"\x03"
CTRL_D = b"\x04"


class Terminal:
    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: nothing but exec, as after any fork
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        self._text = bytearray()
        self._lock = threading.Lock()
        self.status: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self._text.extend(chunk)

    @property
    def text(self) -> str:
        with self._lock:
            return self._text.decode(errors="replace").replace("\r\n", "\n")

    def mark(self) -> int:
        """Where the output is now: `expect(..., after=mark)` looks only at what comes next."""
        return len(self.text)

    def expect(self, wanted: str, *, after: int = 0, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Wait until `wanted` appears past `after`; the position just past it."""

        def seen() -> int | None:
            at = self.text.find(wanted, after)
            if at < 0:
                self._alive(wanted)
                return None
            return at + len(wanted)

        return wait_until(seen, timeout=timeout, what=lambda: f"{wanted!r} in the terminal:\n{self.text[-3000:]}")

    def _poll(self) -> int | None:
        """The exit code once the child has exited (reaped once, kept)."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def _alive(self, wanted: str) -> None:
        if self._poll() is None:
            return
        self._reader.join(timeout=5)  # what the child wrote last
        if wanted not in self.text:
            raise AssertionError(f"the command exited ({self.status}) before printing {wanted!r}:\n{self.text[-3000:]}")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def press(self, key: bytes) -> None:
        os.write(self.fd, key)

    def wait(self, timeout: float = scaled(60)) -> int:
        """The exit code (-n when killed by signal n); a child still running at the deadline is killed."""
        try:
            wait_until(lambda: self._poll() is not None, timeout=timeout, what="the command to exit")
        except AssertionError:
            raise AssertionError(f"the command did not exit:\n{self.text[-3000:]}") from None
        self._reader.join(timeout=5)
        assert self.status is not None
        return self.status

    def close(self) -> None:
        if self._poll() is None:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
