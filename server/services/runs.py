"""Runs on a thread, for the routes: create (assistant config and context merged in, the multitask strategy
and a resume's answers checked on the locked thread, a free worker slot of this process taken so the run
starts here at once), read, list, delete, cancel, wait for the end, stream.

Workers (in this process or another) do the running, so a run outlives the request that made it and any API
process can stream any run. The walk of a create is one way down: route → this service → store (insert) and
worker (start) → the event log, which the route's SSE response follows.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from sse_starlette import EventSourceResponse
from starlette.responses import StreamingResponse

from server.auth.access import Access
from server.auth.filters import Filters
from server.db.pool import Connection, Pool
from server.errors import Conflict, InvalidInput, NotFound
from server.graph_loading import LoadedGraphs
from server.records import ActiveStatus, CancelAction, Run, RunKwargs, RunStatus
from server.runs import limits, store
from server.runs.budget import assistant_budget
from server.runs.context import mirrored, requested_config_and_context
from server.runs.events import follow_batches
from server.runs.limits import UNLIMITED, Limit
from server.runs.notify import Notifier
from server.runs.request_body import RunCreate
from server.runs.sse import cancel_abandoned, outlasting_outages, run_stream
from server.runs.store.approvals import DecisionRecord
from server.runs.thread_stream import ThreadStreamMode, thread_stream
from server.runs.worker import Worker, slot_of
from server.serialize import JSON, dumps, to_json_compatible
from server.services import approvals, commands, threads
from server.services.access import visible_thread
from server.services.assistants import Assistant, resolve_assistant
from server.settings import RunSettings

log = logging.getLogger(__name__)
PruneStrategy = Literal["delete", "keep_latest"]
# Set by keel from the caller's identity, as LangGraph Server sets them; a request naming one is refused.
AUTH_CONFIGURABLE = ("langgraph_auth_user", "langgraph_auth_user_id", "langgraph_auth_permissions")
KEEPALIVE_S = 5.0  # a waiting answer's newline, as LangGraph Server sends it
_DELETE_TRIES = 3  # a thread's delete stops its runs again when a run was created meanwhile
_STOP_WAIT_LEASES = 2  # how long a delete waits for its runs to stop, in leases (a dead worker's run: one lease)
_SHOWN: tuple[str, ...] = ("run_id", "thread_id", "assistant_id", "status", "metadata", "multitask_strategy")
_SHOWN += ("created_at", "updated_at", "attempt", "kwargs", "usage")
RUN_FIELDS = frozenset((*_SHOWN, "error"))  # what a runs list may `select`


def run_json(run: Run, select: Collection[str] | None = None) -> JSON:
    """A run as the API shows it; with `select`, only those fields."""
    columns: Mapping[str, object] = run
    shown = {key: columns[key] for key in _SHOWN if not select or key in select}
    if run.get("error") and (not select or "error" in select):
        shown["error"] = run["error"]
    return to_json_compatible(shown)


def stateless(body: RunCreate) -> tuple[uuid.UUID, RunCreate]:
    """A stateless run's thread (new) and body: the thread is created with the run, and its checkpoints are
    deleted when the run ends unless the caller keeps them (`on_completion="keep"`)."""
    update: dict[str, Any] = {"if_not_exists": "create"}
    if body.on_completion is None:
        update["on_completion"] = "delete"
    return uuid.uuid4(), body.model_copy(update=update)


@dataclass(frozen=True)
class RunService:
    pool: Pool
    graphs: LoadedGraphs
    notifier: Notifier
    worker: Worker | None
    settings: RunSettings
    # The request's headers that `http.configurable_headers` passes: they land in the run's config.configurable,
    # over the body's and the assistant's values, as on LangGraph Server.
    headers: Mapping[str, Any] = field(default_factory=dict)
    access: Access = field(default_factory=Access)  # the caller: what it may do, whose runs it creates, what it decides

    async def create(self, thread_id: uuid.UUID, body: RunCreate) -> Run:
        body, filters = await self._authorize_create(thread_id, body)
        # A free worker slot here starts the run here, without a claim (see store.insert_run); the slot is
        # given back at the end of the block unless the run was created running under its lease.
        async with slot_of(self.worker) as slot, self.pool.connection() as conn:
            assistant = await resolve_assistant(conn, self.graphs, body.assistant_id, self.access)
            kwargs = self._kwargs(body, assistant)
            limit = self._limit()
            run = await self._insert(conn, thread_id, body, assistant, kwargs, slot.lease, filters, limit=limit)
            slot.start(run)
        return run

    async def create_batch(self, requests: list[tuple[uuid.UUID, RunCreate]]) -> list[Run]:
        """Create runs in order, in one transaction: all of them, or none when one is refused (a limit counts the
        whole batch). They are queued for the workers, which are woken when the batch commits. For stateless runs:
        each thread is new, so two batches never wait for each other's thread locks (in opposite orders)."""
        created, limit = [], self._limit()
        async with self.pool.connection() as conn, conn.transaction():
            for thread_id, request in requests:
                body, filters = await self._authorize_create(thread_id, request)
                assistant = await resolve_assistant(conn, self.graphs, body.assistant_id, self.access)
                kwargs = self._kwargs(body, assistant)
                created.append(await self._insert(conn, thread_id, body, assistant, kwargs, None, filters, limit=limit))
        return created

    def _limit(self) -> Limit:
        """The caller's run limits: keel's defaults apply only under auth (without it every caller is one)."""
        user = self.access.user
        return limits.limit_for(self.settings, user.permissions, authenticated=self.access.enforced)

    async def create_on(self, conn: Connection, thread_id: uuid.UUID, body: RunCreate) -> Run:
        """Create a run in the caller's transaction (a cron's firing): a worker claims it once that commits. No
        limit applies: nobody waits for an answer, and a cron fires at most once a minute."""
        body, filters = await self._authorize_create(thread_id, body)
        assistant = await resolve_assistant(conn, self.graphs, body.assistant_id, self.access)
        return await self._insert(conn, thread_id, body, assistant, self._kwargs(body, assistant), None, filters)

    async def _authorize_create(self, thread_id: uuid.UUID, body: RunCreate) -> tuple[RunCreate, Filters | None]:
        """`threads.create_run`, as LangGraph Server asks it: the handler may edit the run's metadata (stamp
        an owner); its filters must hold on the thread the run goes to. Without auth there is nothing to ask (and
        no value to build on every create)."""
        if not self.access.enforced:
            return body, None
        value: dict[str, Any] = {
            "thread_id": thread_id,
            "assistant_id": body.assistant_id,
            "run_id": None,
            "status": "pending",
            "metadata": dict(body.metadata or {}),
            "prevent_insert_if_inflight": body.multitask_strategy == "reject",
            "multitask_strategy": body.multitask_strategy,
            "if_not_exists": body.if_not_exists,
            "after_seconds": body.after_seconds,
            "kwargs": body.run_kwargs(),
        }
        filters = await self.access.authorize("threads", "create_run", value)
        if value.get("metadata") != (body.metadata or {}):
            body = body.model_copy(update={"metadata": value.get("metadata") or {}})
        return body, filters

    def _kwargs(self, body: RunCreate, assistant: Assistant) -> RunKwargs:
        """What the run's worker needs: the body's run fields under the assistant's config and context."""
        kwargs = body.run_kwargs()
        if "command" in kwargs:
            commands.check_shape(kwargs["command"], self.graphs[assistant.graph_id])
        config, context = requested_config_and_context(kwargs.get("config"), kwargs.get("context"))
        stored_config, stored_context = mirrored(assistant.config, assistant.context)
        kwargs["config"] = replace(assistant, config=stored_config).merged_config(config)
        if named := [key for key in AUTH_CONFIGURABLE if key in config["configurable"] or key in context]:
            raise InvalidInput(f"config.configurable: {', '.join(named)} is set by keel from the caller's identity")
        if self.headers:  # langgraph.json's http.configurable_headers, over the body's and the assistant's values
            kwargs["config"]["configurable"] = {**kwargs["config"].get("configurable", {}), **self.headers}
        kwargs["context"] = {**stored_context, **context}  # always set: a graph's context schema gets its defaults
        if self.access.enforced:  # the creator, as LangGraph Server hands it to the graph (and keel to approvals)
            user = self.access.user
            kwargs["config"]["configurable"] |= {
                "langgraph_auth_user": user.as_dict(),
                "langgraph_auth_user_id": user.identity,
                "langgraph_auth_permissions": sorted(user.permissions),
            }
        if assistant.run_timeout_s is not None:
            kwargs["timeout_s"] = assistant.run_timeout_s
        if (limits := assistant_budget(assistant.metadata, stored_context)) is not None:
            kwargs["budget"] = limits  # the assistant's, never the caller's: a run cannot raise its own budget
        return kwargs

    async def _insert(
        self,
        conn: Connection,
        thread_id: uuid.UUID,
        body: RunCreate,
        assistant: Assistant,
        kwargs: RunKwargs,
        lease: store.Lease | None,
        filters: Filters | None,
        *,
        limit: Limit = UNLIMITED,
    ) -> Run:
        """Insert the run as its multitask strategy says. Under a `limit`, the identity's counts are checked first
        in the same transaction (`limits.admit`): a refused run leaves no run, no thread and no count."""
        resolving = commands.resolves(kwargs.get("command", {}))  # "mark as resolved": answers the approvals too
        resumes = "resume" in kwargs.get("command", {}) or resolving
        if body.multitask_strategy == "enqueue" and not resumes and not self.access.enforced:
            if limit.unlimited:  # one statement, no transaction: the common path stays as short as it can be
                return await self._enqueue(conn, thread_id, body, assistant, kwargs, lease)
            async with conn.transaction():
                await limits.admit(conn, self.access.user.identity, limit)
                return await self._enqueue(conn, thread_id, body, assistant, kwargs, lease)
        async with conn.transaction():
            await limits.admit(conn, self.access.user.identity, limit)  # first: the identity's lock before the thread's
            await store.ensure_thread(
                conn,
                thread_id,
                if_not_exists=body.if_not_exists,
                graph_id=assistant.graph_id,
                assistant_id=assistant.assistant_id,
                metadata=body.metadata if self.access.enforced else None,  # a new thread is its creator's
            )
            await store.check_thread_visible(conn, thread_id, filters)
            decided: list[DecisionRecord] = []
            if resumes:  # checked on the locked thread row: no other run can be created until this one is
                graph = self.graphs[assistant.graph_id]
                answer = commands.resolve_answers if resolving else commands.resume_answers
                answers, answered = await answer(conn, graph, thread_id, kwargs)
                decided = approvals.decisions(self.access, thread_id, answers, answered, self.settings.tool_limits)
                kwargs["command"] = {**kwargs["command"], "resume": answers}
                if resolving:
                    del kwargs["command"]["goto"]  # the calls end here: the approval node tells the agent
            run = await store.create_run(
                conn,
                thread_id=thread_id,
                assistant_id=assistant.assistant_id,
                graph_id=assistant.graph_id,
                kwargs=kwargs,
                metadata=body.metadata or {},
                multitask_strategy=body.multitask_strategy,
                start=lease,
            )
            # The audit rows commit with the run that carries the decisions, or not at all.
            await approvals.record(conn, decided, run_id=run["run_id"], at_head=not commands.forks(kwargs))
            return run

    async def _enqueue(
        self,
        conn: Connection,
        thread_id: uuid.UUID,
        body: RunCreate,
        assistant: Assistant,
        kwargs: RunKwargs,
        lease: store.Lease | None,
    ) -> Run:
        return await store.insert_run(
            conn,
            thread_id=thread_id,
            create_thread=body.if_not_exists == "create",
            assistant_id=assistant.assistant_id,
            graph_id=assistant.graph_id,
            kwargs=kwargs,
            metadata=body.metadata or {},
            start=lease,
        )

    async def get(self, thread_id: uuid.UUID, run_id: uuid.UUID) -> Run:
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "read", thread_id, {"run_id": run_id})
            return await store.get_run(conn, run_id, thread_id)

    async def list_runs(self, thread_id: uuid.UUID, *, limit: int, offset: int, status: RunStatus | None) -> list[Run]:
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "read", thread_id)
            await store.get_thread(conn, thread_id)
            return await store.list_runs(conn, thread_id, limit=limit, offset=offset, status=status)

    async def delete(self, thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "delete", thread_id, {"run_id": run_id})
            await store.delete_run(conn, run_id, thread_id)

    async def cancel(self, thread_id: uuid.UUID, run_id: uuid.UUID, *, action: CancelAction) -> Run:
        """Ask the run to stop. A run that has ended already is left as it is (LangGraph Server accepts the
        request all the same); a run that is not on the thread is 404."""
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "update", thread_id, {"run_id": run_id, "action": action})
            async with conn.transaction():
                run = await store.get_run(conn, run_id, thread_id)
                await store.request_cancel(conn, run_id, action)
        return run

    async def cancel_many(
        self,
        *,
        action: CancelAction,
        thread_id: uuid.UUID | None = None,
        run_ids: list[uuid.UUID] | None = None,
        status: ActiveStatus | Literal["all"] | None = None,
    ) -> None:
        """`POST /runs/cancel`: the given runs of a thread (404 unless each is on it), or every active run in
        `status`. Each run is cancelled in a transaction of its own: they hold the locks of different threads.
        Under auth, only runs on threads the caller may update (`threads.update`) are cancelled."""
        async with self.pool.connection() as conn:
            if status is not None:
                targets = []
                for run in await store.active_runs(conn, status=None if status == "all" else status):
                    try:
                        await visible_thread(conn, self.access, "update", run["thread_id"], {"run_id": run["run_id"]})
                    except NotFound:
                        continue
                    targets.append(run["run_id"])
            else:
                assert thread_id is not None and run_ids is not None  # the body's validator checked
                await visible_thread(conn, self.access, "update", thread_id, {"action": action})
                targets = [(await store.get_run(conn, run_id, thread_id))["run_id"] for run_id in run_ids]
            for run_id in targets:
                async with conn.transaction():
                    await store.request_cancel(conn, run_id, action)

    async def stop_runs(self, *, thread_id: uuid.UUID | None = None, assistant_id: str | None = None) -> list[Run]:
        """Interrupt the active runs of a thread or of an assistant; returns them. An assistant's runs are only
        those on threads the caller may update (`threads.update`, as a cancel asks): a deleted assistant of
        another's leaves their runs alone."""
        async with self.pool.connection() as conn:
            active = await store.active_runs(conn, thread_id=thread_id, assistant_id=assistant_id)
            if thread_id is None and self.access.enforced:
                active = [run for run in active if await self._may_update(conn, run)]
            for run in active:
                async with conn.transaction():
                    await store.request_cancel(conn, run["run_id"], "interrupt")
        return active

    async def _may_update(self, conn: Connection, run: Run) -> bool:
        try:
            await visible_thread(conn, self.access, "update", run["thread_id"], {"run_id": run["run_id"]})
        except NotFound:
            return False
        return True

    async def delete_thread(self, thread_id: uuid.UUID, saver: AsyncPostgresSaver) -> None:
        """Delete a thread as LangGraph Server does: its active runs are interrupted first. keel also waits
        for them to end, so that no worker writes a checkpoint for the thread once it is gone (a run created
        meanwhile is stopped on the next try; one that will not stop leaves the thread in place, 409)."""
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "delete", thread_id)
        for attempt in range(_DELETE_TRIES):
            stopping = await self.stop_runs(thread_id=thread_id)
            try:
                async with asyncio.timeout(_STOP_WAIT_LEASES * self.settings.lease_s):
                    for run in stopping:
                        await self.wait_for_end(run)
            except TimeoutError:
                raise Conflict(f"thread {thread_id} has runs that did not stop in time; try the delete again") from None
            try:
                async with self.pool.connection() as conn:
                    await threads.delete_thread(conn, saver, thread_id)
                return
            except Conflict:
                if attempt == _DELETE_TRIES - 1:
                    raise

    async def prune_threads(
        self, thread_ids: list[uuid.UUID], strategy: PruneStrategy, saver: AsyncPostgresSaver
    ) -> int:
        """LangGraph Server's prune: `delete` deletes each thread as `delete_thread` does (its runs stopped
        first); `keep_latest` keeps each thread and its latest checkpoint, dropping the older ones. Answers how
        many threads were pruned: unknown ids and threads that could not be pruned are skipped (and logged)."""
        async with self.pool.connection() as conn:
            known = await store.existing_thread_ids(conn, list(dict.fromkeys(thread_ids)))
        pruned = 0
        for thread_id in known:
            try:
                async with self.pool.connection() as conn:
                    await visible_thread(conn, self.access, "delete", thread_id)
                if strategy == "delete":
                    await self.delete_thread(thread_id, saver)
                else:
                    await saver.aprune([str(thread_id)], strategy="keep_latest")
            except NotFound:
                continue  # deleted meanwhile
            except Exception:
                log.exception("prune (%s) of thread %s failed; skipped", strategy, thread_id)
                continue
            pruned += 1
        return pruned

    async def wait_for_end(self, run: Run) -> None:
        async for _ in follow_batches(self.pool, self.notifier, run["run_id"], after=0, poll_s=self.settings.poll_s):
            pass

    async def final_values(self, run: Run) -> Any:
        """What `wait` and `join` return: the thread's values after the run (with `__interrupt__` when it
        stopped at one), or `__error__` if it failed. Read from the thread row the worker wrote at the end
        (a run rolled back is gone: the thread's values then)."""
        async with self.pool.connection() as conn:
            thread = await store.get_thread(conn, run["thread_id"])
            try:
                run = await store.get_run(conn, run["run_id"])
            except NotFound:
                return thread["values"] if thread["values"] is not None else {}
        if run["status"] in ("error", "timeout"):
            return {"__error__": {"error": run["status"], "message": run["error"]}}
        values = thread["values"] if thread["values"] is not None else {}
        pending = [item for items in thread["interrupts"].values() for item in items]
        if isinstance(values, dict) and pending:
            values["__interrupt__"] = pending
        return values

    async def outcome(self, run: Run) -> Any:
        """Wait for the run's end; then its final values (see `final_values`)."""
        await self.wait_for_end(run)
        return await self.final_values(run)

    def wait_response(self, run: Run, *, cancel_on_disconnect: bool = False) -> StreamingResponse:
        """The run's final values (see `final_values`) once it has ended, as LangGraph Server answers a wait:
        a newline every `KEEPALIVE_S` until then (leading whitespace, which JSON parsers skip), so that a
        proxy with an idle timeout keeps the connection; `Location` is where to wait again (`join`)."""
        thread_id, run_id = run["thread_id"], run["run_id"]

        async def attempt() -> AsyncIterator[Any]:
            yield await self.outcome(run)

        async def outcome_outlasting_outages() -> Any:  # a restart of the database is waited out, as streams do
            async with aclosing(outlasting_outages(attempt, f"wait for run {run_id}", then_raise=True)) as outcomes:
                async for value in outcomes:
                    return value

        async def body() -> AsyncIterator[bytes]:
            outcome = asyncio.create_task(outcome_outlasting_outages(), name=f"keel-wait-{run_id}")
            answered = False
            try:
                while not (await asyncio.wait({outcome}, timeout=KEEPALIVE_S))[0]:
                    yield b"\n"
                answered = True
                yield dumps(outcome.result()).encode()
            finally:
                outcome.cancel()
                if not answered and cancel_on_disconnect:
                    await asyncio.shield(cancel_abandoned(self.pool, run_id))

        headers = {
            "Location": f"/threads/{thread_id}/runs/{run_id}/join",
            "Content-Location": f"/threads/{thread_id}/runs/{run_id}",
        }
        return StreamingResponse(body(), media_type="application/json", headers=headers)

    async def thread_stream(
        self, thread_id: uuid.UUID, *, modes: Collection[ThreadStreamMode], last_event_id: str | None
    ) -> EventSourceResponse:
        """Follow the thread's runs, one after the other (404 for an unknown thread)."""
        async with self.pool.connection() as conn:
            await visible_thread(conn, self.access, "read", thread_id)
            await store.get_thread(conn, thread_id)
        return thread_stream(
            self.pool,
            self.notifier,
            thread_id=thread_id,
            modes=modes,
            last_event_id=last_event_id,
            poll_s=self.settings.poll_s,
        )

    def stream(
        self,
        run: Run,
        *,
        after: int,
        cancel_on_disconnect: bool,
        stream_mode: Collection[str] = (),
        created: bool = False,
    ) -> EventSourceResponse:
        """The run's events as SSE (`created`: the run was just created by this request, so none exist yet)."""
        return run_stream(
            self.pool,
            self.notifier,
            thread_id=run["thread_id"],
            run_id=run["run_id"],
            after=after,
            cancel_on_disconnect=cancel_on_disconnect,
            poll_s=self.settings.poll_s,
            stream_mode=stream_mode,
            created=created,
        )
