"""What a keel process holds for its lifetime, for the API (`keel serve`) and for `keel worker` alike:
the pool, the migrated database, the checkpointer, the store, the compiled graphs, the LISTEN connection and,
unless it is API-only, a worker pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from langgraph_sdk import Auth
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from server.configurable_headers import HeaderFilter, header_filter
from server.db.migrate import upgrade
from server.db.pool import CONNECT_TIMEOUT_S, Connection, Pool, create_pool
from server.graph_loading import LoadedGraphs, load_graphs
from server.models.factory import ModelFactory
from server.observability import run as observability
from server.runs import threads
from server.runs.context import context_builder
from server.runs.notify import Notifier
from server.runs.worker import Worker
from server.services.assistants import register_system_assistants
from server.services.crons import cron_scheduler
from server.services.runs import RunService
from server.settings import Settings
from server.store_config import open_store, store_config


@asynccontextmanager
async def _session(pool: Pool, database_url: str, direct_url: str) -> AsyncIterator[Connection]:
    """A pooled connection, or one of its own to `direct_url` when that differs from the pool's URL."""
    if direct_url == database_url:
        async with pool.connection() as conn:
            yield conn
        return
    async with await AsyncConnection.connect(
        direct_url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
    ) as conn:
        yield conn


@dataclass(frozen=True)
class Runtime:
    """What a keel process holds for its lifetime; the API's lifespan hands it to every request (`server.deps`)."""

    settings: Settings
    pool: Pool
    saver: AsyncPostgresSaver
    graphs: LoadedGraphs
    notifier: Notifier
    worker: Worker | None
    store: AsyncPostgresStore
    headers: HeaderFilter  # which request headers reach a run's config.configurable
    auth: Auth | None  # langgraph.json's `auth` object: every request is authenticated and authorized with it


@asynccontextmanager
async def open_runtime(
    settings: Settings, database_url: str, graphs: LoadedGraphs | None = None, *, workers: int | None = None
) -> AsyncIterator[Runtime]:
    """Open everything in order and close it in reverse. On exit the worker stops first: it stops
    claiming, lets running runs finish within `KEEL_SHUTDOWN_GRACE`, then hands the rest back."""
    async with AsyncExitStack() as stack:
        threads.install(asyncio.get_running_loop(), settings.runs.workers if workers is None else workers)
        # Pushed first so it runs last: spans of runs finished during the worker's shutdown get flushed too.
        stack.push_async_callback(asyncio.to_thread, observability.install(settings))
        pool = create_pool(database_url, settings.database)
        await pool.open(wait=True, timeout=30)
        stack.push_async_callback(pool.close)
        source = graphs if graphs is not None else load_graphs(settings.server.config, required=False)
        stored = store_config(source.config_path, settings.model)
        # LISTEN and the migration lock need a session of their own: a transaction-mode pooler would hand the
        # session's next statement (and its notifications) to another server connection.
        direct_url = settings.database.direct_url or database_url
        async with _session(pool, database_url, direct_url) as conn:
            await upgrade(conn, store_index=stored.index)
        saver = AsyncPostgresSaver(pool)
        store = await stack.enter_async_context(open_store(pool, stored))
        loaded = source.with_checkpointer(saver, store)
        await register_system_assistants(pool, loaded)
        notifier = Notifier(direct_url)
        await notifier.start()
        stack.push_async_callback(notifier.stop)
        size = settings.runs.workers if workers is None else workers
        worker = None
        if size > 0:
            worker = Worker(
                pool=pool,
                notifier=notifier,
                graphs=loaded,
                context_for=context_builder(
                    pool, ModelFactory(settings.model), settings.runs.tool_limits, settings.runs.faults
                ),
                settings=settings.runs,
            )
            await worker.start(size)
            stack.push_async_callback(worker.stop)
            # Fires due crons as ordinary runs; any number of processes may run one (the claim is exclusive).
            runs = RunService(pool, loaded, notifier, None, settings.runs)
            scheduler = cron_scheduler(runs, poll_s=settings.runs.cron_poll_s, auth=source.sections.auth)
            await stack.enter_async_context(scheduler)
        yield Runtime(
            settings,
            pool,
            saver,
            loaded,
            notifier,
            worker,
            store,
            header_filter(source.config_path),
            source.sections.auth,
        )
