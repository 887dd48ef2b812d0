"""The runs table as a queue: create (with the thread's multitask strategy), claim, renew, finish.

A thread runs one run at a time, in creation order. Workers claim with FOR UPDATE SKIP LOCKED and
hold a lease; a run whose lease expired (its worker died) is claimable again, with attempt + 1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, LiteralString, NamedTuple, cast

from psycopg.types.json import Jsonb

from server.db.pool import Connection
from server.errors import Conflict, NotFound
from server.records import (
    ACTIVE,
    ActiveStatus,
    CancelAction,
    EndStatus,
    MultitaskStrategy,
    Run,
    RunKwargs,
    RunStatus,
    StartedRun,
    ThreadStatus,
)
from server.runs.notify import RUNS_CHANNEL
from server.runs.recent import Event
from server.runs.store.events import APPEND_EVENTS, append_params

# The one spelling of "the run is active" (`ACTIVE` in records); `o.{_ACTIVE}` qualifies it.
_ACTIVE: LiteralString = "status IN ('pending', 'running')"
assert f"status IN ({', '.join(repr(status) for status in ACTIVE)})" == _ACTIVE
_RUN_COLUMNS = """run_id, thread_id, assistant_id, graph_id, status, kwargs, metadata, multitask_strategy,
    attempt, lease_owner, lease_expires_at, cancel_action, error, usage, created_at, updated_at,
    started_at, ended_at"""


async def create_run(
    conn: Connection,
    *,
    thread_id: uuid.UUID,
    assistant_id: str,
    graph_id: str,
    kwargs: RunKwargs,
    metadata: dict[str, Any],
    multitask_strategy: MultitaskStrategy,
    start: Lease | None = None,
) -> Run:
    """Insert a run, applying the strategy to the thread's active runs (`start`: see `insert_run`). Call
    inside a transaction that already locked the thread (`ensure_thread`)."""
    active = await (
        await conn.execute(
            f"SELECT run_id, status FROM keel.runs WHERE thread_id = %s AND {_ACTIVE}",
            (thread_id,),
        )
    ).fetchall()
    if active and multitask_strategy == "reject":
        raise Conflict(
            f"thread {thread_id} already has an active run ({active[0]['run_id']}); multitask_strategy=reject"
        )
    if active and (multitask_strategy == "interrupt" or multitask_strategy == "rollback"):
        for run in active:
            await request_cancel(conn, run["run_id"], multitask_strategy)
    return await insert_run(
        conn,
        thread_id=thread_id,
        create_thread=False,
        assistant_id=assistant_id,
        graph_id=graph_id,
        kwargs=kwargs,
        metadata=metadata,
        multitask_strategy=multitask_strategy,
        start=start,
    )


class Lease(NamedTuple):
    """A free worker slot in this process, offered to a run being created so that it starts here at once."""

    worker_id: str
    lease_s: float


async def insert_run(
    conn: Connection,
    *,
    thread_id: uuid.UUID,
    create_thread: bool,
    assistant_id: str,
    graph_id: str,
    kwargs: RunKwargs,
    metadata: dict[str, Any],
    multitask_strategy: MultitaskStrategy = "enqueue",
    start: Lease | None = None,
) -> Run:
    """Insert a run in one statement that marks the thread busy and counts the run among its active ones
    (creating the thread if asked; the row lock orders it with other creates and ends on the thread). On its
    own this is the `enqueue` strategy, which needs no look at the thread's other runs; `create_run` applies
    the others first.

    With `start`, a run that is its thread's only active one is inserted already running under that lease:
    its worker starts it without a claim, and no other worker is woken. Otherwise the run is pending and the
    workers are notified.

    A delayed run (`after_seconds`) is created pending with its `created_at` that far ahead, as on LangGraph
    Server: workers skip it until then, and it takes its place in the thread's order at its due time, so a
    run created meanwhile without a delay goes first. It never starts at once under `start`."""
    thread: LiteralString = (
        """INSERT INTO keel.threads (thread_id, metadata, status, active_runs)
           VALUES (%(thread_id)s, jsonb_build_object('graph_id', %(graph_id)s::text,
                                                     'assistant_id', %(assistant_id)s::text), 'busy', 1)
           ON CONFLICT (thread_id) DO UPDATE SET status = 'busy', updated_at = now(),
                  active_runs = keel.threads.active_runs + 1, metadata = keel.threads.metadata || excluded.metadata"""
        if create_thread
        else """UPDATE keel.threads SET status = 'busy', updated_at = now(), active_runs = active_runs + 1,
                  metadata = metadata || jsonb_build_object('graph_id', %(graph_id)s::text,
                                                            'assistant_id', %(assistant_id)s::text)
           WHERE thread_id = %(thread_id)s"""
    )
    params = {
        "delay_s": float(kwargs.get("after_seconds") or 0.0),
        "thread_id": thread_id,
        "graph_id": graph_id,
        "run_id": uuid.uuid4(),
        "assistant_id": assistant_id,
        "kwargs": Jsonb(kwargs),
        "metadata": Jsonb(metadata),
        "strategy": multitask_strategy,
        "channel": RUNS_CHANNEL,
        "owner": start.worker_id if start else None,
        "lease_s": start.lease_s if start else 0.0,
    }
    # The count is the locked row's latest version: it includes runs committed after this statement's
    # snapshot was taken, which a look at keel.runs would miss.
    row = await (
        await conn.execute(
            f"""WITH thread AS (
                    {thread} RETURNING thread_id,
                              active_runs = 1 AND %(owner)s::text IS NOT NULL AND %(delay_s)s = 0 AS starts),
                run AS (
                    INSERT INTO keel.runs (run_id, thread_id, assistant_id, graph_id, kwargs, metadata,
                                           multitask_strategy, status, attempt, lease_owner, lease_expires_at,
                                           started_at, created_at)
                    SELECT %(run_id)s, thread_id, %(assistant_id)s, %(graph_id)s, %(kwargs)s, %(metadata)s,
                           %(strategy)s, CASE WHEN starts THEN 'running' ELSE 'pending' END,
                           CASE WHEN starts THEN 1 ELSE 0 END, CASE WHEN starts THEN %(owner)s::text END,
                           CASE WHEN starts THEN now() + make_interval(secs => %(lease_s)s) END,
                           CASE WHEN starts THEN now() END, now() + make_interval(secs => %(delay_s)s)
                    FROM thread RETURNING {_RUN_COLUMNS})
                SELECT run.*, (SELECT pg_notify(%(channel)s, run.run_id::text) WHERE run.status = 'pending') IS NULL
                       AS notified
                FROM run""",
            params,
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"thread {thread_id} not found (pass if_not_exists='create' to create it with the run)")
    del row["notified"]
    return cast(Run, row)


# Lock order: a thread's row before its runs' rows, in every statement and transaction that writes both.
# Creating a run locks the thread and then (interrupt, rollback) cancels its active runs; ending a run writes
# the run and then its thread. Each of those that locked the run first deadlocked against a create. In one
# statement: the thread is locked in an init plan that the runs scan evaluates before it returns (and so
# locks) a run row; the run's thread_id never changes, so reading it unlocked is safe.
_LOCK_THREAD_OF_RUN: LiteralString = """locked_thread AS (
    SELECT t.thread_id FROM keel.threads t
    WHERE t.thread_id = (SELECT r.thread_id FROM keel.runs r WHERE r.run_id = %(run_id)s)
    FOR NO KEY UPDATE)"""
_THREAD_LOCKED: LiteralString = "thread_id IS NOT DISTINCT FROM (SELECT thread_id FROM locked_thread)"


def cancel_key(run_id: uuid.UUID) -> str:
    """The notification payload that tells the run's worker to look for a cancel request."""
    return f"cancel:{run_id}"


async def request_cancel(conn: Connection, run_id: uuid.UUID, action: CancelAction) -> bool:
    """Mark an active run for cancellation; a pending one ends at once, a running one at its worker's next
    beat (woken by NOTIFY). Returns False when the run had already ended. Locks the run's thread before the
    run (see `_LOCK_THREAD_OF_RUN`)."""
    row = await (
        await conn.execute(
            f"""WITH {_LOCK_THREAD_OF_RUN}
                UPDATE keel.runs SET cancel_action = %(action)s, updated_at = now()
                WHERE run_id = %(run_id)s AND {_ACTIVE} AND {_THREAD_LOCKED}
                RETURNING status, thread_id""",
            {"action": action, "run_id": run_id},
        )
    ).fetchone()
    if row is None:
        return False
    if row["status"] == "pending":
        await finish_run(conn, run_id, status="interrupted", error="cancelled before it started")
    await conn.execute("SELECT pg_notify(%s, %s)", (RUNS_CHANNEL, cancel_key(run_id)))
    return True


# A run may start when no other run of its thread is running under a live lease, and none was created before it and
# is still active.
_FREE_THREAD: LiteralString = f"""NOT EXISTS (
    SELECT 1 FROM keel.runs o
    WHERE o.thread_id = r.thread_id AND o.run_id <> r.run_id
      AND ((o.status = 'running' AND o.lease_expires_at >= now()) OR (o.{_ACTIVE} AND o.created_at < r.created_at)))"""


async def claim_run(
    conn: Connection, *, worker_id: str, lease_s: float, max_attempts: int
) -> tuple[StartedRun, bool] | None:
    """Lease the oldest runnable run: pending and due (a delayed run's `created_at` is its due time), or
    running with an expired lease (its worker died) and attempts left (`fail_exhausted` ends the others). A
    run waits while an earlier run of its thread is active. `next_seq` is the run's next event sequence
    number (events continue across attempts); `more_pending` says whether other due runs are waiting (the
    claimer claims again at once, or sleeps); `elapsed_s` is the time since the run's first attempt started
    (its timeout counts from there).

    The pending runs and the orphaned ones are two queries, each ordered and limited on its own: together (an OR)
    PostgreSQL could not walk `runs_pending_idx` in order and stop at the first free run, and compared every
    active run with every other before sorting them (a claim cost ~16 ms with 10,000 pending; bench/scale.py). The
    head of each is locked; the one not taken is unlocked when the claim commits (right after this statement)."""
    row = await (
        await conn.execute(
            f"""
            WITH due AS (
                SELECT r.run_id, r.created_at FROM keel.runs r
                WHERE r.status = 'pending' AND r.created_at <= now() AND {_FREE_THREAD}
                ORDER BY r.created_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED),
            orphaned AS (
                SELECT r.run_id, r.created_at FROM keel.runs r
                WHERE r.status = 'running' AND r.lease_expires_at < now() AND r.attempt < %s AND {_FREE_THREAD}
                ORDER BY r.created_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED),
            candidate AS (
                SELECT run_id FROM (SELECT * FROM due UNION ALL SELECT * FROM orphaned) AS both_heads
                ORDER BY created_at
                LIMIT 1)
            UPDATE keel.runs SET status = 'running', attempt = attempt + 1, lease_owner = %s,
                   lease_expires_at = now() + make_interval(secs => %s), started_at = coalesce(started_at, now()),
                   updated_at = now()
            FROM candidate WHERE keel.runs.run_id = candidate.run_id
            RETURNING {_RUN_COLUMNS.replace("run_id,", "keel.runs.run_id,", 1)},
                (SELECT coalesce(max(e.seq), 0) + 1 FROM keel.run_events e WHERE e.run_id = keel.runs.run_id)
                AS next_seq,
                extract(epoch FROM now() - keel.runs.started_at)::float8 AS elapsed_s,
                EXISTS (SELECT 1 FROM keel.runs p WHERE p.status = 'pending' AND p.created_at <= now()
                                                  AND p.run_id <> keel.runs.run_id)
                AS more_pending""",
            (max_attempts, worker_id, lease_s),
        )
    ).fetchone()
    if row is None:
        return None
    more_pending: bool = row.pop("more_pending")
    return cast(StartedRun, row), more_pending


async def renew_lease(
    conn: Connection, run_id: uuid.UUID, *, worker_id: str, lease_s: float
) -> tuple[bool, CancelAction | None]:
    """Extend our lease. Returns (still ours, requested cancel action)."""
    row = await (
        await conn.execute(
            """UPDATE keel.runs SET lease_expires_at = now() + make_interval(secs => %s)
               WHERE run_id = %s AND lease_owner = %s AND status = 'running' RETURNING cancel_action""",
            (lease_s, run_id, worker_id),
        )
    ).fetchone()
    if row is None:
        return False, None
    return True, row["cancel_action"]


async def release_run(conn: Connection, run_id: uuid.UUID, *, worker_id: str, failed: bool = False) -> None:
    """Hand a run back to the queue; the next worker continues from its checkpoint. At a graceful
    shutdown the attempt is given back (a deploy is not a failure); after a failure (`failed`) it counts."""
    await conn.execute(
        """UPDATE keel.runs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
               attempt = CASE WHEN %s THEN attempt ELSE greatest(attempt - 1, 0) END, updated_at = now()
           WHERE run_id = %s AND lease_owner = %s AND status = 'running'""",
        (failed, run_id, worker_id),
    )
    await conn.execute("SELECT pg_notify(%s, %s)", (RUNS_CHANNEL, str(run_id)))


async def finish_run(
    conn: Connection,
    run_id: uuid.UUID,
    *,
    status: EndStatus,
    error: str | None = None,
    worker_id: str | None = None,
    usage: dict[str, Any] | None = None,
    values: Any = None,
    interrupts: dict[str, Any] | None = None,
    events: Sequence[Event] = (),
) -> ThreadStatus | None:
    """Record a final status, the run's last `events` and the thread's status after it, which is returned
    (`busy`: another run of the thread is waiting, and the workers are woken for it). None if the run was not
    ours to finish (nothing is written then)."""
    # One statement: the run's final status, its last events and their wake-up, the thread's values,
    # interrupts, active-run count and status, and the workers' wake-up when a queued run may start now (its
    # own notification came while this run still held the thread). The count is the locked thread row's
    # latest version, so a run created while this statement waited for that row keeps the thread busy.
    row = await (
        await conn.execute(
            f"""WITH {_LOCK_THREAD_OF_RUN},
               done AS (
                   UPDATE keel.runs SET status = %(status)s, error = %(error)s, ended_at = now(), updated_at = now(),
                          lease_owner = NULL, lease_expires_at = NULL, usage = coalesce(%(usage)s, usage)
                   WHERE run_id = %(run_id)s AND {_ACTIVE}
                     AND (%(worker)s::text IS NULL OR lease_owner = %(worker)s) AND {_THREAD_LOCKED}
                   RETURNING thread_id),
               appended AS ({APPEND_EVENTS} WHERE EXISTS (SELECT 1 FROM done)),
               settled AS (
                   UPDATE keel.threads t SET updated_at = now(),
                          "values" = coalesce(%(values)s, t."values"),
                          interrupts = CASE WHEN %(settled)s THEN coalesce(%(interrupts)s, '{{}}'::jsonb)
                                            ELSE t.interrupts END,
                          active_runs = greatest(t.active_runs - 1, 0),
                          status = CASE WHEN t.active_runs > 1 THEN 'busy' ELSE %(thread_status)s END
                   FROM done WHERE t.thread_id = done.thread_id
                   RETURNING t.status)
               SELECT CASE WHEN EXISTS (SELECT 1 FROM done) THEN coalesce((SELECT status FROM settled), 'idle') END
                          AS thread_status,
                      (SELECT pg_notify(%(channel)s, %(payload)s) FROM done
                       WHERE %(payload)s::text IS NOT NULL) IS NULL AS notified,
                      (SELECT pg_notify(%(runs_channel)s, %(run_id)s::text) FROM settled
                       WHERE status = 'busy') IS NULL AS woke""",
            {
                **append_params(run_id, events),
                "runs_channel": RUNS_CHANNEL,
                "status": status,
                "error": error,
                "usage": Jsonb(usage) if usage is not None else None,
                "run_id": run_id,
                "worker": worker_id,
                "values": Jsonb(values) if values is not None else None,
                "settled": values is not None or interrupts is not None,
                "interrupts": Jsonb(interrupts) if interrupts is not None else None,
                "thread_status": _THREAD_STATUS_AFTER.get(status, "idle"),
            },
        )
    ).fetchone()
    return None if row is None else row["thread_status"]


# What a thread's status becomes when its last active run ends this way.
_THREAD_STATUS_AFTER: dict[EndStatus, ThreadStatus] = {
    "interrupted": "interrupted",
    "error": "error",
    "timeout": "error",
}


async def rollback_run(conn: Connection, run_id: uuid.UUID, thread_id: uuid.UUID) -> None:
    """Cancel with rollback: the run and every checkpoint it wrote are deleted, as if it never ran. When
    another run of the thread is waiting, the workers are woken for it (as `finish_run` does). Call inside a
    transaction: the thread is locked first, as everywhere a run of it ends."""
    await conn.execute("SELECT 1 FROM keel.threads WHERE thread_id = %s FOR NO KEY UPDATE", (thread_id,))
    await conn.execute(
        """WITH gone AS (
               DELETE FROM checkpoints WHERE thread_id = %s AND metadata->>'run_id' = %s
               RETURNING checkpoint_ns, checkpoint_id)
           DELETE FROM checkpoint_writes w USING gone
           WHERE w.thread_id = %s AND w.checkpoint_ns = gone.checkpoint_ns AND w.checkpoint_id = gone.checkpoint_id""",
        (str(thread_id), str(run_id), str(thread_id)),
    )
    await conn.execute(
        f"""WITH gone AS (DELETE FROM keel.runs WHERE run_id = %(run_id)s
                         RETURNING thread_id, {_ACTIVE} AS was_active),
                settled AS (
                    UPDATE keel.threads t SET updated_at = now(),
                           active_runs = greatest(t.active_runs - gone.was_active::int, 0),
                           status = CASE WHEN t.active_runs - gone.was_active::int > 0 THEN 'busy' ELSE 'idle' END
                    FROM gone WHERE t.thread_id = gone.thread_id RETURNING t.status)
           SELECT pg_notify(%(channel)s, %(run_id)s::text) FROM settled WHERE status = 'busy'""",
        {"run_id": run_id, "channel": RUNS_CHANNEL},
    )


async def delete_checkpoints(conn: Connection, thread_id: uuid.UUID) -> None:
    """A stateless run's thread keeps its final values on the thread row; its checkpoints go."""
    for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
        await conn.execute(f"DELETE FROM {table} WHERE thread_id = %s", (str(thread_id),))


async def fail_exhausted(conn: Connection, *, max_attempts: int) -> list[dict[str, Any]]:
    """Runs whose worker died on their last allowed attempt end as `error` instead of being retried. Each is
    ended under its thread's lock taken before the run's, the order every create, cancel and finish uses."""
    exhausted: LiteralString = """status = 'running' AND lease_expires_at < now() AND attempt >= %s"""
    candidates = await (
        await conn.execute(f"SELECT run_id, thread_id FROM keel.runs WHERE {exhausted}", (max_attempts,))
    ).fetchall()
    ended: list[dict[str, Any]] = []
    for candidate in candidates:
        row = await (
            await conn.execute(
                f"""WITH thread AS (SELECT thread_id FROM keel.threads WHERE thread_id = %s
                                    FOR NO KEY UPDATE SKIP LOCKED)
                    SELECT run_id, thread_id, attempt FROM keel.runs
                    WHERE run_id = %s AND thread_id IN (SELECT thread_id FROM thread) AND {exhausted}
                    FOR UPDATE SKIP LOCKED""",
                (candidate["thread_id"], candidate["run_id"], max_attempts),
            )
        ).fetchone()
        if row is None:
            continue  # taken meanwhile, or its thread is busy with a create or an ending: the next sweep sees it
        row["error"] = f"run abandoned after {row['attempt']} attempt(s): its worker stopped renewing the lease"
        await finish_run(conn, row["run_id"], status="error", error=row["error"])
        ended.append(row)
    return ended


async def get_run(conn: Connection, run_id: uuid.UUID, thread_id: uuid.UUID | None = None) -> Run:
    row = await (
        await conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM keel.runs WHERE run_id = %s AND (%s::uuid IS NULL OR thread_id = %s)",
            (run_id, thread_id, thread_id),
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"run {run_id} not found" + (f" on thread {thread_id}" if thread_id else ""))
    return cast(Run, row)


async def list_runs(
    conn: Connection, thread_id: uuid.UUID, *, limit: int, offset: int, status: RunStatus | None
) -> list[Run]:
    rows = await (
        await conn.execute(
            f"""SELECT {_RUN_COLUMNS} FROM keel.runs WHERE thread_id = %s AND (%s::text IS NULL OR status = %s)
                ORDER BY created_at DESC LIMIT %s OFFSET %s""",
            (thread_id, status, status, limit, offset),
        )
    ).fetchall()
    return cast(list[Run], rows)


async def delete_run(conn: Connection, run_id: uuid.UUID, thread_id: uuid.UUID) -> None:
    """Delete an ended run and its events; an active one is refused (cancel it first)."""
    async with conn.transaction():
        run = await get_run(conn, run_id, thread_id)
        if run["status"] in ACTIVE:
            raise Conflict(f"run {run_id} is {run['status']}; cancel it before deleting it")
        await conn.execute("DELETE FROM keel.runs WHERE run_id = %s", (run_id,))


async def active_run(conn: Connection, thread_id: uuid.UUID) -> Run | None:
    """One of the thread's active runs (run_id and status only), or None."""
    row = await (
        await conn.execute(
            f"SELECT run_id, status FROM keel.runs WHERE thread_id = %s AND {_ACTIVE} LIMIT 1", (thread_id,)
        )
    ).fetchone()
    return cast(Run | None, row)


async def active_runs(
    conn: Connection,
    *,
    thread_id: uuid.UUID | None = None,
    assistant_id: str | None = None,
    status: ActiveStatus | None = None,
) -> list[Run]:
    """Active runs (run_id, thread_id, status only), oldest first: of a thread, of an assistant, or in a status."""
    rows = await (
        await conn.execute(
            f"""SELECT run_id, thread_id, status FROM keel.runs
                WHERE {_ACTIVE} AND (%(thread)s::uuid IS NULL OR thread_id = %(thread)s)
                  AND (%(assistant)s::text IS NULL OR assistant_id = %(assistant)s)
                  AND (%(status)s::text IS NULL OR status = %(status)s)
                ORDER BY created_at""",
            {"thread": thread_id, "assistant": assistant_id, "status": status},
        )
    ).fetchall()
    return cast(list[Run], rows)


# Who created a run, as the run carries it (LangGraph Server's `langgraph_auth_user_id`; none: the anonymous
# identity ''). Spelled as migration 0009's index on active runs spells it, so that the index serves the count.
_CREATOR: LiteralString = "coalesce(kwargs #>> '{config,configurable,langgraph_auth_user_id}', '')"


async def count_active_of(conn: Connection, identity: str) -> int:
    """The identity's active (pending or running) runs, on every thread."""
    row = await (
        await conn.execute(f"SELECT count(*) AS n FROM keel.runs WHERE {_ACTIVE} AND {_CREATOR} = %s", (identity,))
    ).fetchone()
    assert row is not None
    return int(row["n"])


async def next_run_of_thread(
    conn: Connection,
    thread_id: uuid.UUID,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    active_or_since: dt.datetime | None,
) -> Run | None:
    """The thread's oldest run created after `after` (its created_at and run_id: the last run followed), that is
    active or was created at or after `active_or_since` (None: any); None when there is none yet."""
    row = await (
        await conn.execute(
            f"""SELECT {_RUN_COLUMNS} FROM keel.runs
                WHERE thread_id = %(thread)s
                  AND (%(after_at)s::timestamptz IS NULL OR (created_at, run_id) > (%(after_at)s, %(after_id)s))
                  AND (%(since)s::timestamptz IS NULL OR {_ACTIVE} OR created_at >= %(since)s)
                ORDER BY created_at, run_id LIMIT 1""",
            {
                "thread": thread_id,
                "after_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "since": active_or_since,
            },
        )
    ).fetchone()
    return cast(Run | None, row)


async def interrupted_before(conn: Connection, run: Run) -> uuid.UUID | None:
    """The thread's latest run that stopped at an interrupt before `run` was created: the one it answers."""
    row = await (
        await conn.execute(
            """SELECT run_id FROM keel.runs WHERE thread_id = %s AND status = 'interrupted'
                 AND created_at < %s ORDER BY created_at DESC LIMIT 1""",
            (run["thread_id"], run["created_at"]),
        )
    ).fetchone()
    return None if row is None else uuid.UUID(str(row["run_id"]))


async def add_run_metadata(conn: Connection, run_id: uuid.UUID, extra: dict[str, Any]) -> None:
    await conn.execute("UPDATE keel.runs SET metadata = metadata || %s WHERE run_id = %s", (Jsonb(extra), run_id))


async def queue_depth(conn: Connection) -> tuple[int, float]:
    """Pending runs that are due, database-wide, and the age in seconds of the oldest (0 when none)."""
    row = await (
        await conn.execute(
            """SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest
               FROM keel.runs WHERE status = 'pending' AND created_at <= now()"""
        )
    ).fetchone()
    assert row is not None
    return int(row["depth"]), float(row["oldest"])
