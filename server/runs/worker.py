"""Workers: claim runs from the queue, execute them under a renewed lease, record how they ended.

Each process runs `size` slots. A slot claims a run (woken by NOTIFY, or by polling every `poll_s`), runs
it as a task and beats every `heartbeat_s`: the beat renews the lease and picks up cancel requests. On
shutdown the worker stops claiming, lets running runs finish for `shutdown_grace_s`, then hands the rest
back to the queue, where another worker continues them from their last checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from langgraph.pregel import Pregel
from psycopg_pool import PoolTimeout

from server.db.pool import Pool
from server.observability.logging import log_context
from server.observability.run import RunObservation, begin
from server.runs import store
from server.runs.events import EventLog
from server.runs.execute import Outcome, execute
from server.runs.notify import RUNS_CHANNEL, Notifier, wait
from server.serialize import dumps
from server.settings import RunSettings

log = logging.getLogger(__name__)

Graph = Pregel[Any, Any, Any, Any]
ContextFor = Callable[[Graph, Any], Any]  # (graph, the run's `context`) -> what the graph's Runtime gets
_SWEEP_S = 60.0
_DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)


class Worker:
    def __init__(
        self,
        *,
        pool: Pool,
        notifier: Notifier,
        graphs: Mapping[str, Graph],
        context_for: ContextFor,
        settings: RunSettings,
    ) -> None:
        self.pool = pool
        self.notifier = notifier
        self.graphs = graphs
        self.context_for = context_for
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._slots: list[asyncio.Task[None]] = []
        self._running: dict[uuid.UUID, asyncio.Task[Outcome]] = {}
        self._stopping = asyncio.Event()
        self._handing_back = False

    async def start(self, size: int) -> None:
        self._slots = [asyncio.create_task(self._slot(), name=f"keel-worker-{i}") for i in range(size)]
        self._slots.append(asyncio.create_task(self._sweep(), name="keel-sweeper"))
        log.info("worker %s started with %d slot(s)", self.worker_id, size)

    async def stop(self) -> None:
        """Stop claiming; give running runs `shutdown_grace_s`, then hand them back to the queue."""
        self._stopping.set()
        busy = [slot for slot in self._slots if not slot.get_name().endswith("sweeper")]
        _, still_running = await asyncio.wait(busy, timeout=self.settings.shutdown_grace_s) if busy else ((), ())
        if still_running:
            self._handing_back = True
            for task in self._running.values():
                task.cancel()
            await asyncio.wait(still_running, timeout=10)
        for slot in self._slots:
            slot.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)

    def alive(self) -> bool:
        """True while every slot task is still running (for `/ready`)."""
        return bool(self._slots) and not self._stopping.is_set() and not any(slot.done() for slot in self._slots)

    async def _slot(self) -> None:
        async with self.notifier.subscribe(RUNS_CHANNEL) as wake:
            while not self._stopping.is_set():
                try:
                    run = await self._claim()
                    if run is None:
                        await wait(wake, self.settings.poll_s)
                        continue
                    await self._run_one(run)
                except _DATABASE_DOWN as exc:
                    # A run caught mid-way keeps its lease until it expires; then it is retried from its checkpoint.
                    log.warning("worker %s: database unavailable (%s); retrying", self.worker_id, exc)
                    await asyncio.sleep(self.settings.poll_s)

    async def _claim(self) -> dict[str, Any] | None:
        async with self.pool.connection() as conn, conn.transaction():
            for abandoned in await store.fail_exhausted(conn, max_attempts=self.settings.max_attempts):
                # Followers of the run learn why it ended, like any other ending.
                events = await EventLog.open(self.pool, abandoned["run_id"])
                events.add("error", dumps({"error": "error", "message": abandoned["error"]}))
                events.add("end", dumps({"run_id": str(abandoned["run_id"]), "status": "error"}))
                await events.flush(conn)
            return await store.claim_run(conn, worker_id=self.worker_id, lease_s=self.settings.lease_s)

    async def _run_one(self, run: dict[str, Any]) -> None:
        run_id: uuid.UUID = run["run_id"]
        observed = await begin(self.pool, run)
        with log_context(**observed.log_fields()):
            events = await EventLog.open(self.pool, run_id)
            task = asyncio.create_task(self._execute(run, events, observed), name=f"keel-run-{run_id}")
            self._running[run_id] = task
            try:
                cancel, lost = await self._beat_until_done(run_id, task)
                await self._settle(run, events, task, cancel=cancel, lost=lost, observed=observed)
            finally:
                self._running.pop(run_id, None)

    async def _execute(self, run: dict[str, Any], events: EventLog, observed: RunObservation) -> Outcome:
        graph = self.graphs.get(run["graph_id"])
        if graph is None:
            return Outcome("error", f"graph {run['graph_id']!r} is not loaded by this worker")
        context = self.context_for(graph, run["kwargs"].get("context"))
        async with asyncio.timeout(run["kwargs"].get("timeout_s") or self.settings.timeout_s):
            return await execute(graph, run, events, context=context, observed=observed)

    async def _beat_until_done(
        self, run_id: uuid.UUID, task: asyncio.Task[Outcome]
    ) -> tuple[store.CancelAction | None, bool]:
        """Renew the lease until the run's task ends. Returns (cancel action seen, lease lost)."""
        async with self.notifier.subscribe(RUNS_CHANNEL, str(run_id)) as wake:
            while not task.done():
                waker = asyncio.create_task(wait(wake, self.settings.heartbeat_s))
                await asyncio.wait({task, waker}, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                if task.done():
                    break
                async with self.pool.connection() as conn:
                    ours, cancel = await store.renew_lease(
                        conn, run_id, worker_id=self.worker_id, lease_s=self.settings.lease_s
                    )
                if not ours or cancel is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    return cancel, not ours
        return None, False

    async def _settle(
        self,
        run: dict[str, Any],
        events: EventLog,
        task: asyncio.Task[Outcome],
        *,
        cancel: store.CancelAction | None,
        lost: bool,
        observed: RunObservation,
    ) -> None:
        run_id = run["run_id"]
        if lost:
            log.warning("run %s: lease lost to another worker; leaving it to them", run_id)
            await events.close()
            return
        if task.cancelled() and self._handing_back:
            await events.close()
            async with self.pool.connection() as conn:
                await store.release_run(conn, run_id, worker_id=self.worker_id)
            log.info("run %s handed back to the queue at shutdown", run_id)
            return
        if self._database_failed(task) and run["attempt"] < self.settings.max_attempts:
            # The database went away under the run: retry it from its last checkpoint rather than fail it.
            # If the database is still down, this raises and the lease expiry re-queues the run instead.
            log.warning("run %s: database error on attempt %d; re-queued", run_id, run["attempt"])
            await events.close()
            async with self.pool.connection() as conn:
                await store.release_run(conn, run_id, worker_id=self.worker_id, failed=True)
            return
        if cancel == "rollback":
            await events.close()
            async with self.pool.connection() as conn, conn.transaction():
                await store.rollback_run(conn, run_id, run["thread_id"])
            return
        outcome = self._outcome(task, cancel)
        last = [("end", dumps({"run_id": str(run_id), "status": outcome.status}))]
        if outcome.status in ("error", "timeout"):
            last.insert(0, ("error", dumps({"error": outcome.status, "message": outcome.error})))
        # The final events and the final status commit together: whoever sees `end` sees the finished run.
        async with self.pool.connection() as conn, conn.transaction():
            await store.finish_run(
                conn,
                run_id,
                status=outcome.status,  # type: ignore[arg-type]
                error=outcome.error,
                worker_id=self.worker_id,
                values=outcome.values,
                interrupts=outcome.interrupts,
                usage=observed.usage_summary(),
            )
            await events.close(conn, last=last)
            if run["kwargs"].get("on_completion") == "delete":
                await store.delete_checkpoints(conn, run["thread_id"])
        observed.finished(outcome.status)
        log.info("run %s ended %s (attempt %d)", run_id, outcome.status, run["attempt"])

    @staticmethod
    def _database_failed(task: asyncio.Task[Outcome]) -> bool:
        return not task.cancelled() and isinstance(task.exception(), _DATABASE_DOWN)

    def _outcome(self, task: asyncio.Task[Outcome], cancel: store.CancelAction | None) -> Outcome:
        if task.cancelled():
            return Outcome("interrupted", f"cancelled ({cancel})" if cancel else None)
        exc = task.exception()
        if isinstance(exc, TimeoutError):
            return Outcome("timeout", "run exceeded its timeout")
        if exc is not None:
            log.error("run failed", exc_info=exc)
            return Outcome("error", f"{type(exc).__name__}: {exc}")
        return task.result()

    async def _sweep(self) -> None:
        """Drop event logs of runs that ended more than the retention period ago."""
        while True:
            try:
                async with self.pool.connection() as conn:
                    await store.purge_expired_events(conn, retention_h=self.settings.event_retention_h)
            except _DATABASE_DOWN as exc:
                log.warning("event retention sweep skipped: %s", exc)
            await asyncio.sleep(_SWEEP_S)
