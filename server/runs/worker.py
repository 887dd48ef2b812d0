"""Workers: claim runs from the queue, execute them under a renewed lease, record how they ended.

Each process runs `size` slots. A slot claims a run (woken by NOTIFY, or by polling every `poll_s`), runs
it as a task and beats every `heartbeat_s`: the beat renews the lease and picks up cancel requests. On
shutdown the worker stops claiming, lets running runs finish for `shutdown_grace_s`, then hands the rest
back to the queue, where another worker continues them from their last checkpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from server.db.pool import Connection, Pool
from server.graph_loading import Graph, LoadedGraphs
from server.observability.logging import log_context
from server.observability.run import RunObservation
from server.records import CancelAction, Run, StartedRun, ThreadStatus
from server.runs import budget, store
from server.runs.budget import RunBudget
from server.runs.events import EventLog
from server.runs.execute import Outcome, execute, run_config
from server.runs.notify import RUNS_CHANNEL, Notifier, wait
from server.runs.recent import Event
from server.runs.store import approvals as audit
from server.runs.webhooks import WebhookSender, payload
from server.serialize import dumps
from server.settings import RunSettings

log = logging.getLogger(__name__)

ContextFor = Callable[[Graph, Any], Any]  # (graph, the run's `context`) -> what the graph's Runtime gets
_SWEEP_S = 60.0
_RECANCEL_S = 1.0
_TTL_BATCH = 100
_DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)


class Worker:
    def __init__(
        self,
        *,
        pool: Pool,
        notifier: Notifier,
        graphs: LoadedGraphs,
        context_for: ContextFor,
        settings: RunSettings,
    ) -> None:
        self.pool = pool
        self.notifier = notifier
        self.graphs = graphs
        self.context_for = context_for
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._background: list[asyncio.Task[None]] = []  # the claimer and the sweeper
        self._slots: set[asyncio.Task[None]] = set()  # one per run being executed
        self._running: dict[uuid.UUID, asyncio.Task[Outcome]] = {}
        self._stopping = asyncio.Event()
        self._handing_back = False
        secret = settings.webhook_secret
        self.webhooks = WebhookSender(secret.get_secret_value() if secret else None)

    async def start(self, size: int) -> None:
        self._free = asyncio.Semaphore(size)
        self._background = [
            asyncio.create_task(self._claimer(), name="keel-claimer"),
            asyncio.create_task(self._sweep(), name="keel-sweeper"),
        ]
        log.info("worker %s started with %d slot(s)", self.worker_id, size)

    async def stop(self) -> None:
        """Stop claiming; give running runs `shutdown_grace_s`, then hand them back to the queue."""
        self._stopping.set()
        for background in self._background:
            background.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        _, still_running = (
            await asyncio.wait(self._slots, timeout=self.settings.shutdown_grace_s) if self._slots else ((), ())
        )
        if still_running:
            self._handing_back = True
            cancels = [asyncio.create_task(cancel_and_wait(task)) for task in self._running.values()]
            await asyncio.wait(still_running, timeout=10)
            for cancelling in cancels:
                cancelling.cancel()
        await self.webhooks.close(timeout=self.settings.shutdown_grace_s)

    def alive(self) -> bool:
        """True while the claimer and the sweeper are running (for `/ready`)."""
        return bool(self._background) and not self._stopping.is_set() and not any(t.done() for t in self._background)

    async def _claimer(self) -> None:
        """Claim a run whenever a slot is free. One claimer per process: a notification costs one claim query,
        not one per idle slot."""
        async with self.notifier.subscribe(RUNS_CHANNEL) as wake:
            while True:
                await self._free.acquire()
                wake.clear()  # from here on, a notification means work this claim may not have seen
                try:
                    claimed = await self._claim()
                except _DATABASE_DOWN as exc:
                    self._free.release()
                    log.warning("worker %s: database unavailable (%s); retrying", self.worker_id, exc)
                    await asyncio.sleep(self.settings.poll_s)
                    continue
                if claimed is None:
                    self._free.release()
                    await wait(wake, self.settings.poll_s)
                    continue
                run, more = claimed
                self._spawn(run)
                if not more:
                    await wait(wake, self.settings.poll_s)  # nothing else was waiting at the claim

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """A free slot for a run this process is creating, so that it starts here at once: no claim query, no
        wake-up of every worker, and its events reach this process's followers from memory. The slot has no
        lease when every slot is busy (the run is queued for whichever worker frees up first) or the worker is
        stopping. At the end of the block the run given to `Slot.start` runs in it; else the slot is freed."""
        lease = None
        if self.alive() and not self._free.locked():
            await self._free.acquire()  # returns at once: a slot is free and nobody is queued for one
            lease = store.Lease(self.worker_id, self.settings.lease_s)
        slot = Slot(lease)
        try:
            yield slot
        finally:
            if slot.run is not None:
                self._spawn(StartedRun(**slot.run, next_seq=1, elapsed_s=0.0))
            elif lease is not None:
                self._free.release()

    def _spawn(self, run: StartedRun) -> None:
        # The log opens now, before the run's task starts: a follower arriving first (the stream of the request
        # that created the run) then takes its events from memory as they commit, instead of reading them back.
        events = EventLog(self.pool, run["run_id"], next_seq=run["next_seq"], recent=self.notifier.recent)
        slot = asyncio.create_task(self._run_in_slot(run, events), name=f"keel-slot-{run['run_id']}")
        slot.add_done_callback(lambda _: events.release())  # however the slot ends, even cancelled before it ran
        self._slots.add(slot)
        slot.add_done_callback(self._slots.discard)

    async def _run_in_slot(self, run: StartedRun, events: EventLog) -> None:
        try:
            await self._run_one(run, events)
        except _DATABASE_DOWN as exc:
            # The run keeps its lease until it expires; then it is retried from its checkpoint.
            log.warning("worker %s: database unavailable during run %s (%s)", self.worker_id, run["run_id"], exc)
        except Exception:
            # A failure in keel's own bookkeeping (the graph's errors end the run in `_settle`): logged with the
            # run, and the run is retried when its lease expires. The slot and the claimer carry on.
            log.exception("worker %s: run %s failed outside its graph", self.worker_id, run["run_id"])
        finally:
            self._free.release()

    async def _claim(self) -> tuple[StartedRun, bool] | None:
        async with self.pool.connection() as conn:
            return await store.claim_run(
                conn, worker_id=self.worker_id, lease_s=self.settings.lease_s, max_attempts=self.settings.max_attempts
            )

    async def _fail_exhausted(self) -> None:
        """Runs whose last allowed attempt died end as `error`; their followers learn why, like any ending."""
        async with self.pool.connection() as conn, conn.transaction():
            for abandoned in await store.fail_exhausted(conn, max_attempts=self.settings.max_attempts):
                events = await EventLog.open(self.pool, abandoned["run_id"])
                events.add("error", dumps({"error": "error", "message": abandoned["error"]}))
                events.add("end", dumps({"run_id": str(abandoned["run_id"]), "status": "error"}))
                await events.flush(conn)

    async def _run_one(self, run: StartedRun, events: EventLog) -> None:
        run_id: uuid.UUID = run["run_id"]
        observed, meter = await self._observe(run)
        with log_context(**observed.log_fields()):
            task = asyncio.create_task(self._execute(run, events, observed, meter), name=f"keel-run-{run_id}")
            self._running[run_id] = task
            try:
                cancel, lost = await self._beat_until_done(run_id, task)
                await self._settle(run, events, task, cancel=cancel, lost=lost, observed=observed)
            finally:
                # After a database error out of the beat or the settling, the run must not go on unleased here
                # (its lease expires and another attempt continues it from its checkpoint).
                await cancel_and_wait(task)
                if not task.cancelled():
                    task.exception()  # seen: settled, or the run failed on the same dead database
                self._running.pop(run_id, None)

    async def _observe(self, run: StartedRun) -> tuple[RunObservation, RunBudget]:
        """The run's observation: the run it resumes and the approval decisions it carries, and its trace id/URL
        and origin recorded on the run's metadata; and its budget meter. A run that resumes nothing, is not traced
        and has no thread budget needs none of them, nor a connection."""
        resumes = (run["kwargs"].get("command") or {}).get("resume") is not None
        observed = RunObservation(run)
        limits = budget.limits_for(self.settings, run["kwargs"].get("budget"))
        if not resumes and not observed.run_metadata() and not limits["thread"]:
            return observed, budget.unloaded(run, limits, observed.usage)
        resumed = None
        async with self.pool.connection() as conn:
            if resumes:
                resumed = await store.interrupted_before(conn, run)
                decided = await audit.run_decisions(conn, run["run_id"])
                observed = RunObservation(run, resumed_from=str(resumed) if resumed else None, decisions=decided)
            extra = observed.run_metadata()
            if extra:
                await store.add_run_metadata(conn, run["run_id"], extra)
            meter = await budget.load(conn, run, limits, observed.usage, resumed)
        observed.budget_carry = meter.carry()
        return observed, meter

    async def _execute(self, run: StartedRun, events: EventLog, observed: RunObservation, meter: RunBudget) -> Outcome:
        graph = self.graphs.get(run["graph_id"])
        if graph is None:
            return Outcome("error", f"graph {run['graph_id']!r} is not loaded by this worker")
        # The timeout counts from the run's first start, across hand-backs and retries: a run stuck in a node
        # (which a restart hands back without counting an attempt) ends `timeout` instead of running forever.
        limit: float = run["kwargs"].get("timeout_s") or self.settings.timeout_s
        remaining = limit - run["elapsed_s"]
        if remaining <= 0:
            return Outcome("timeout", f"run exceeded its timeout ({limit:g} s since it first started)")
        requested = run["kwargs"].get("context")
        async with asyncio.timeout(remaining):
            if not self.graphs.is_per_run(run["graph_id"]):
                context = budget.metered(self.context_for(graph, requested), meter)
                return await execute(graph, run, events, context=context, observed=observed)
            # A factory taking the run's config or a ServerRuntime: called for this run, as LangGraph Server does.
            config = run_config(run, resume_latest=False)
            async with self.graphs.open_for_run(run["graph_id"], config, requested) as built:
                context = budget.metered(self.context_for(built, requested), meter)
                return await execute(built, run, events, context=context, observed=observed)

    async def _beat_until_done(
        self, run_id: uuid.UUID, task: asyncio.Task[Outcome]
    ) -> tuple[CancelAction | None, bool]:
        """Renew the lease until the run's task ends. Returns (cancel action seen, lease lost)."""
        async with self.notifier.subscribe(RUNS_CHANNEL, store.cancel_key(run_id)) as wake:
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
                    await cancel_and_wait(task)
                    return cancel, not ours
        return None, False

    async def _settle(
        self,
        run: StartedRun,
        events: EventLog,
        task: asyncio.Task[Outcome],
        *,
        cancel: CancelAction | None,
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
            self._webhook(run, "rollback")  # the run is gone; LangGraph Server reports it so
            return
        outcome = self._outcome(task, cancel)
        last = [("end", dumps({"run_id": str(run_id), "status": outcome.status}))]
        if outcome.status in ("error", "timeout"):
            last.insert(0, ("error", dumps({"error": outcome.status, "message": outcome.error})))
        # The final events and the final status commit together: whoever sees `end` sees the finished run.
        final = await events.seal(last)
        async with self.pool.connection() as conn:
            if run["kwargs"].get("on_completion") == "delete":
                async with conn.transaction():
                    thread_status = await self._finish(conn, run_id, outcome, observed, final)
                    await store.delete_checkpoints(conn, run["thread_id"])
            else:
                thread_status = await self._finish(conn, run_id, outcome, observed, final)
        if thread_status is None:
            log.warning("run %s: no longer ours to finish (its lease was taken over); its result is dropped", run_id)
            return
        events.published(final)
        observed.finished(outcome.status)
        self._webhook(run, outcome.status, values=outcome.values, error=outcome.error)
        log.info("run %s ended %s (attempt %d)", run_id, outcome.status, run["attempt"])

    def _webhook(self, run: StartedRun, status: str, *, values: Any = None, error: str | None = None) -> None:
        """POST the ended run to its webhook, in the background."""
        if url := run["kwargs"].get("webhook"):
            now = dt.datetime.now(dt.UTC)
            ended = {**run, "status": status, "updated_at": now, "ended_at": now}
            self.webhooks.send(url, payload(ended, values=values, error=error))

    async def _finish(
        self, conn: Connection, run_id: uuid.UUID, outcome: Outcome, observed: RunObservation, final: list[Event]
    ) -> ThreadStatus | None:
        return await store.finish_run(
            conn,
            run_id,
            status=outcome.status,
            error=outcome.error,
            worker_id=self.worker_id,
            values=outcome.values,
            interrupts=outcome.interrupts,
            usage=observed.usage_summary(),
            events=final,
        )

    @staticmethod
    def _database_failed(task: asyncio.Task[Outcome]) -> bool:
        return not task.cancelled() and isinstance(task.exception(), _DATABASE_DOWN)

    def _outcome(self, task: asyncio.Task[Outcome], cancel: CancelAction | None) -> Outcome:
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
        """Every half lease: end runs that ran out of attempts, delete threads past their TTL. Every minute:
        drop expired event logs."""
        interval = min(self.settings.lease_s / 2, _SWEEP_S)
        last_purge = 0.0
        while True:
            try:
                await self._fail_exhausted()
                await self._delete_expired_threads()
                if time.monotonic() - last_purge >= _SWEEP_S:
                    async with self.pool.connection() as conn:
                        await store.purge_expired_events(conn, retention_h=self.settings.event_retention_h)
                    last_purge = time.monotonic()
            except _DATABASE_DOWN as exc:
                log.warning("sweep skipped: %s", exc)
            await asyncio.sleep(interval)

    async def _delete_expired_threads(self) -> None:
        """Threads past their TTL go with their runs and checkpoints, a batch per transaction; any process's
        sweep may take any thread (locked rows are skipped)."""
        while True:
            async with self.pool.connection() as conn, conn.transaction():
                expired = await store.delete_expired_threads(conn, limit=_TTL_BATCH)
                for thread_id in expired:
                    await store.delete_checkpoints(conn, thread_id)
            if expired:
                log.info("deleted %d thread(s) past their ttl", len(expired))
            if len(expired) < _TTL_BATCH:
                return


class Slot:
    """A worker slot held while a run is created (`Worker.slot`); `lease` is what the run is created under."""

    def __init__(self, lease: store.Lease | None) -> None:
        self.lease = lease
        self.run: Run | None = None

    def start(self, run: Run) -> None:
        """Run `run` in this slot if it was created running under the slot's lease (it was its thread's only
        active run); a run queued behind another is left to whichever worker claims it later."""
        if self.lease is not None and run["status"] == "running" and run["lease_owner"] == self.lease.worker_id:
            self.run = run


def slot_of(worker: Worker | None) -> AbstractAsyncContextManager[Slot]:
    """`worker.slot()`, or a slot without a lease in an API-only process."""
    return worker.slot() if worker is not None else nullcontext(Slot(None))


async def cancel_and_wait(task: asyncio.Task[Any], *, repeat_s: float = _RECANCEL_S) -> None:
    """Cancel a run's task and wait until it ends, repeating the cancel while it runs on. On Python 3.11 a cancel
    can be lost: `asyncio.wait_for` returns the result when its wait completes as the cancel arrives, and
    psycopg_pool waits for a connection that way. The run would then carry on to its end."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=repeat_s)
