"""Serve an ASGI app with uvicorn in a background thread on a free loopback port: stand-ins for services keel
talks to (an OTLP receiver, an OpenAI-compatible endpoint). keel itself runs as a process: tests/process.py.
The socket is bound before the server starts, so no other process can take the port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from tests.waiting import READY_TIMEOUT, wait_until


@contextmanager
def serve_in_thread(
    app: Any, *, name: str, lifespan: Literal["on", "off"] = "off", timeout: float = READY_TIMEOUT
) -> Iterator[int]:
    """Yield the port once the app is serving; stop it when the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan=lifespan, ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), f"{name} did not start (see the log above)"
        return server.started

    wait_until(started, timeout=timeout, what=f"{name} to start", interval=0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
