"""The `keel` command: `keel serve`, `keel worker`, `keel db upgrade`, `keel chat`, `keel --version`.

Operator mistakes (a bad setting, an unreachable database) end in one line on stderr and a
non-zero exit, not a traceback. SIGTERM and Ctrl-C shut down cleanly, stopping the embedded
PostgreSQL server if this process started it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import uvicorn

from server import __version__, chat_cli
from server.db.embedded import database_url
from server.db.migrate import MigrationError, upgrade
from server.graph_loading import GraphLoadError, LoadedGraphs, load_graphs
from server.host_guard import is_loopback
from server.logs import configure_logging
from server.runs import threads
from server.settings import Settings, SettingsError, get_settings

log = logging.getLogger("server.cli")  # the same name when run as `python -m server.cli`


class Shutdown(Exception):
    """Raised from the SIGTERM handler so that `finally` blocks (embedded server stop) run."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Shutdown


class CommandError(Exception):
    """A failure the operator can fix; `str()` is the line to print."""


_ALLOW_UNAUTHENTICATED = (
    "listen on a non-loopback address although langgraph.json has no auth: any caller reaches every thread "
    "(default: KEEL_ALLOW_UNAUTHENTICATED or refuse)"
)
_STRICT = "refuse to start when any langgraph.json graph fails to load (default: leave it out, serve the others)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keel", description="A durable runtime for LangGraph graphs.")
    parser.add_argument("--version", action="version", version=f"keel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="interface to bind (default: KEEL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: KEEL_PORT or 8000)")
    serve.add_argument("--config", type=Path, help="graph registry file (default: KEEL_CONFIG or ./langgraph.json)")
    serve.add_argument("--no-worker", action="store_true", help="serve the API only; `keel worker` processes run")
    serve.add_argument("--strict", action="store_true", help=_STRICT)
    serve.add_argument("--allow-unauthenticated", action="store_true", help=_ALLOW_UNAUTHENTICATED)

    work = commands.add_parser("worker", help="run queued runs (no HTTP); any number may share one database")
    work.add_argument("--config", type=Path, help="graph registry file (default: KEEL_CONFIG or ./langgraph.json)")
    work.add_argument("--size", type=int, help="runs executed at once (default: KEEL_WORKERS, at least 1)")
    work.add_argument("--strict", action="store_true", help=_STRICT)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")

    chat_cli.add_parser(commands)
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


def _load_graphs(settings: Settings, args: argparse.Namespace) -> LoadedGraphs:
    """Graphs load before the database starts: a broken langgraph.json fails fast (a broken graph entry only with
    --strict; else it is logged and left out). A missing file is an error only when the operator named one
    (KEEL_CONFIG or --config)."""
    if args.config is not None:
        settings.server = settings.server.model_copy(update={"config": args.config})
    try:
        required = "config" in settings.server.model_fields_set
        graphs = load_graphs(settings.server.config, required=required, strict=args.strict)
    except GraphLoadError as exc:
        raise CommandError(str(exc)) from None
    # Imported here: the store's embeddings pull in langchain_openai, and `keel db` stays light.
    from server.configurable_headers import header_filter
    from server.store_config import store_config

    # Its other sections too (SettingsError, one line), before the database starts.
    store_config(graphs.config_path, settings.model)
    header_filter(graphs.config_path)
    return graphs


def check_exposure(host: str, *, authenticated: bool, allowed: bool) -> None:
    """Without langgraph.json `auth` every caller reaches every thread: say so, and listen on loopback only unless
    the operator asked for more (`--allow-unauthenticated`)."""
    if authenticated:
        return
    log.warning(
        "langgraph.json has no auth section: every caller can read, run and resume every thread "
        "(add one before keel is reachable by anyone but you; see README, Authentication)"
    )
    if is_loopback(host) or allowed:
        return
    raise CommandError(
        f"refusing to listen on {host} without authentication: langgraph.json has no auth section, so anyone "
        "who reaches this address can read and resume every thread. Add an auth section, listen on 127.0.0.1, "
        "or pass --allow-unauthenticated (KEEL_ALLOW_UNAUTHENTICATED=true) if something in front of keel "
        "authenticates callers"
    )


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from server.app import create_app  # the app pulls in FastAPI and the routes; keep `keel db` light

    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    settings.server = settings.server.model_copy(update={"host": host})  # the app guards Host headers on loopback
    graphs = _load_graphs(settings, args)
    check_exposure(
        host,
        authenticated=graphs.sections.auth is not None,
        allowed=args.allow_unauthenticated or settings.server.allow_unauthenticated,
    )
    with database_url(settings.database) as url:
        asyncio.run(_check_connection(url))
        app = create_app(settings, url, graphs, workers=0 if args.no_worker else None)
        # Streams end when the server stops; the bound keeps a stuck client from holding shutdown open.
        grace = int(settings.runs.shutdown_grace_s) + 5
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            log_level=settings.server.log_level,
            timeout_graceful_shutdown=grace,
        )


def _work(settings: Settings, args: argparse.Namespace) -> None:
    graphs = _load_graphs(settings, args)
    size = args.size if args.size is not None else max(settings.runs.workers, 1)
    with database_url(settings.database) as url:
        asyncio.run(_check_connection(url))
        _run_event_loop(_run_worker(settings, url, graphs, size))


def _run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (as uvicorn picks it for `keel serve`): a faster event loop for the same code."""
    if sys.platform == "win32":
        asyncio.run(main)
        return
    import uvloop

    uvloop.run(main)


async def _run_worker(settings: Settings, url: str, graphs: LoadedGraphs, size: int) -> None:
    from server.runtime import open_runtime  # workers need no HTTP stack

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, url, graphs, workers=size):
        print(f"keel worker: running up to {size} run(s) at once; SIGTERM to stop", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "chat":  # a client of a running keel: no server settings, no database
        return chat_cli.run(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        settings = get_settings()
        configure_logging(
            settings.server.log_level, fmt=settings.observability.log_format, content=settings.observability.log_content
        )
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "worker":
            _work(settings, args)
        elif args.command == "db":
            with database_url(settings.database) as url:
                asyncio.run(_upgrade(settings.database.direct_url or url))
    except (SettingsError, CommandError, MigrationError) as exc:
        print(f"keel: {exc}", file=sys.stderr)
        return 2
    except (Shutdown, KeyboardInterrupt):
        return _leave(0)
    return _leave(0)


def _leave(code: int) -> int:
    """Exit without waiting for nodes stuck in threads (a run that timed out or was handed back while a sync node
    blocked): the interpreter would join them forever. Everything keel owns is closed by now."""
    stuck = threads.stuck_threads(wait_s=1.0)
    if not stuck:
        return code
    print(f"keel: exiting with {len(stuck)} node thread(s) still blocked; not waiting for them", file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
