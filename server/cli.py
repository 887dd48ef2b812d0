"""The `keel` command: `keel serve`, `keel db upgrade`, `keel --version`.

Operator mistakes (a bad setting, an unreachable database) end in one line on stderr and a
non-zero exit, not a traceback. SIGTERM and Ctrl-C shut down cleanly, stopping the embedded
PostgreSQL server if this process started it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import psycopg
import uvicorn

from server import __version__
from server.db.embedded import database_url
from server.db.migrate import MigrationError, upgrade
from server.logs import configure_logging
from server.settings import Settings, SettingsError, get_settings


class Shutdown(Exception):
    """Raised from the SIGTERM handler so that `finally` blocks (embedded server stop) run."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Shutdown


class CommandError(Exception):
    """A failure the operator can fix; `str()` is the line to print."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keel", description="A durable runtime for LangGraph graphs.")
    parser.add_argument("--version", action="version", version=f"keel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="interface to bind (default: KEEL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: KEEL_PORT or 8000)")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")
    return parser


async def _check_connection(url: str) -> None:
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"cannot connect to the database (DATABASE_URL): {reason}") from None
    await conn.close()


async def _upgrade(url: str) -> None:
    await _check_connection(url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        applied = await upgrade(conn)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to do"
    print(f"keel db upgrade: {names}")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from server.app import create_app  # the app pulls in LangGraph; keep `keel --version` fast

    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    with database_url(settings.database) as url:
        asyncio.run(_check_connection(url))
        app = create_app(settings, url)
        uvicorn.run(app, host=host, port=port, log_config=None, log_level=settings.server.log_level)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        settings = get_settings()
        configure_logging(settings.server.log_level)
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "db":
            with database_url(settings.database) as url:
                asyncio.run(_upgrade(url))
    except (SettingsError, CommandError, MigrationError) as exc:
        print(f"keel: {exc}", file=sys.stderr)
        return 2
    except (Shutdown, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
