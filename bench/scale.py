"""`python -m bench.scale`: issue 18 item 5, the scale-out proof on one machine. Not part of `make bench`.

- `throughput`: PgBouncer (Debian package `pgbouncer`) in transaction mode in front of the bench PostgreSQL; keel
  as 1 API process (`keel serve --no-worker`) + 1 worker process (`keel worker`), and as 2 + 2, each setup on its own
  database through the pooler (KEEL_DB_PREPARE_THRESHOLD=0, KEEL_DIRECT_DATABASE_URL for LISTEN), plus 1 + 1 straight
  to PostgreSQL for the pooler's own cost. The bench's 5-node graph driven by `bench.served` at c20 (split evenly
  over the API processes), the setups alternating in slices (one run, one host); medians of the slices.
- `claim`: the worker's claim query (`store.claim_run`) with 10,000 pending runs (and 100,000 finished ones) in
  keel.runs: its plan (EXPLAIN ANALYZE, rolled back) and the latency of claims that each take one run.
- `retention`: keel.run_events at 10 million rows (synthetic: 100 events of ~320 bytes per run, runs that ended
  over the last 24 h): insert time, table and index sizes, and the time of the purge the sweeper runs every minute
  when nothing, a minute's, an hour's and everything has expired (`store.purge_expired_events`).

Writes bench/results/scale.json and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row

from bench import served
from bench.harness import SERVED_GRAPHS, fresh_database, latency_summary, postgres_server
from server.runs import store
from tests.pgbouncer import transaction_pooler
from tests.process import KeelProcess

RESULTS = Path(__file__).parent / "results"
PARTS = ("throughput", "claim", "retention")
WORKER_SIZE = 10  # keel's default KEEL_WORKERS, per worker process
COMBINED = "1 keel serve with its workers, direct"  # make bench's setup: runs start in the process that made them


# --- throughput -------------------------------------------------------------------------------------------------


class Setup:
    """`apis` API-only keel processes and `workers` worker processes on one database."""

    def __init__(
        self, name: str, url: str, direct_url: str, *, apis: int, workers: int, pooled: bool, combined: bool = False
    ) -> None:
        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix=f"keel-scale-{name.replace(' ', '-')}-"))
        config = self.folder / "langgraph.json"
        config.write_text(json.dumps({"graphs": SERVED_GRAPHS}))
        env = {"DATABASE_URL": url, "KEEL_CONFIG": str(config), "KEEL_LOG_LEVEL": "warning"}
        if pooled:
            env |= {"KEEL_DIRECT_DATABASE_URL": direct_url, "KEEL_DB_PREPARE_THRESHOLD": "0"}
        unset = ("OPENAI_API_KEY", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
        self.apis = [
            KeelProcess(
                ["serve"] if combined else ["serve", "--no-worker"],
                env=env,
                cwd=self.folder,
                log=self.folder / f"api{n}.log",
                unset=unset,
            )
            for n in range(apis)
        ]
        self.workers = [
            KeelProcess(
                ["worker", "--size", str(WORKER_SIZE)],
                env=env,
                cwd=self.folder,
                log=self.folder / f"worker{n}.log",
                unset=unset,
            )
            for n in range(workers)
        ]

    def wait_ready(self) -> None:
        for api in self.apis:
            api.wait_ready()
        for worker in self.workers:
            worker.wait_for_output("keel worker: running")

    def stop(self) -> None:
        for proc in [*self.apis, *self.workers]:
            proc.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def load(self, *, concurrency: int, duration_s: float, warmup_runs: int) -> dict[str, Any]:
        """c`concurrency` split evenly over the API processes, for `duration_s`; runs/s summed."""
        share = concurrency // len(self.apis)
        parts = await asyncio.gather(
            *(
                served.measure(api.base_url, concurrency=share, duration_s=duration_s, warmup_runs=warmup_runs)
                for api in self.apis
            )
        )
        return {
            "runs_per_s": round(sum(p["runs_per_s"] for p in parts), 1),
            "p50_ms": round(statistics.median(p["run"]["p50_ms"] for p in parts), 2),
            "errors": sum(p["errors"] for p in parts),
            "error_samples": [e for p in parts for e in p["error_samples"]][:3],
        }


async def throughput(admin_url: str, *, concurrency: int, slices: int, slice_s: float) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        through = stack.enter_context(transaction_pooler(admin_url))
        setups: list[Setup] = []
        for name, apis, workers, pooled in (
            (COMBINED, 1, 0, False),
            ("1 API + 1 worker, direct", 1, 1, False),
            ("1 API + 1 worker, PgBouncer", 1, 1, True),
            ("2 API + 2 workers, PgBouncer", 2, 2, True),
        ):
            url = await stack.enter_async_context(fresh_database(admin_url))
            setup = Setup(
                name,
                through(url) if pooled else url,
                url,
                apis=apis,
                workers=workers,
                pooled=pooled,
                combined=name == COMBINED,
            )
            stack.callback(setup.stop)
            await asyncio.to_thread(setup.wait_ready)
            setups.append(setup)
        for setup in setups:
            await setup.load(concurrency=concurrency, duration_s=2, warmup_runs=10)
        found: dict[str, list[dict[str, Any]]] = {setup.name: [] for setup in setups}
        for index in range(slices):
            order = setups if index % 2 == 0 else list(reversed(setups))
            for setup in order:
                result = await setup.load(concurrency=concurrency, duration_s=slice_s, warmup_runs=2)
                found[setup.name].append(result)
                print(f"scale: slice {index} {setup.name}: {result['runs_per_s']} runs/s", file=sys.stderr)
    medians = {
        name: {
            "runs_per_s": statistics.median(r["runs_per_s"] for r in rows),
            "p50_ms": statistics.median(r["p50_ms"] for r in rows),
            "errors": sum(r["errors"] for r in rows),
            "error_samples": [e for r in rows for e in r["error_samples"]][:3],
            "slices": [r["runs_per_s"] for r in rows],
        }
        for name, rows in found.items()
    }
    one, two = medians["1 API + 1 worker, PgBouncer"], medians["2 API + 2 workers, PgBouncer"]
    direct = medians["1 API + 1 worker, direct"]
    return {
        "concurrency": concurrency,
        "slice_s": slice_s,
        "setups": medians,
        "ratio_2_over_1": round(two["runs_per_s"] / one["runs_per_s"], 2),
        "ratio_pooled_over_direct": round(one["runs_per_s"] / direct["runs_per_s"], 2),
        "ratio_split_over_combined": round(direct["runs_per_s"] / medians[COMBINED]["runs_per_s"], 2),
    }


# --- claim -----------------------------------------------------------------------------------------------------

_QUEUE_SQL = """
    INSERT INTO keel.threads (thread_id, status, active_runs)
         SELECT gen_random_uuid(), 'busy', 1 FROM generate_series(1, %(pending)s);
    INSERT INTO keel.runs (run_id, thread_id, assistant_id, graph_id, status, created_at)
         SELECT gen_random_uuid(), thread_id, 'linear', 'linear', 'pending',
                now() - make_interval(secs => row_number() OVER () / 1000.0)
           FROM keel.threads;
    INSERT INTO keel.runs (run_id, thread_id, assistant_id, graph_id, status, attempt, created_at, started_at,
                           ended_at)
         SELECT gen_random_uuid(), NULL, 'linear', 'linear', 'success', 1, now() - interval '1 day',
                now() - interval '1 day', now() - interval '1 day' + make_interval(secs => n / 1000.0)
           FROM generate_series(1, %(finished)s) AS n;
"""


async def claim(admin_url: str, *, pending: int, finished: int, claims: int) -> dict[str, Any]:
    async with fresh_database(admin_url) as url:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
        async with conn:
            for statement in _QUEUE_SQL.split(";"):
                if statement.strip():
                    await conn.execute(statement, {"pending": pending, "finished": finished})
            await conn.execute("VACUUM ANALYZE keel.runs")
            await conn.execute("VACUUM ANALYZE keel.threads")
            plan = await _claim_plan(conn)
            latencies: list[float] = []
            for _ in range(claims):
                start = time.perf_counter()
                got = await store.claim_run(conn, worker_id="bench", lease_s=300, max_attempts=3)
                latencies.append(time.perf_counter() - start)
                assert got is not None, "the queue ran dry"
            left = await (await conn.execute("SELECT count(*) AS n FROM keel.runs WHERE status = 'pending'")).fetchone()
            empty_latencies = await _empty_claims(admin_url, claims=min(claims, 200))
    return {
        "pending": pending,
        "finished": finished,
        "claims": latency_summary(latencies),
        "pending_after": left["n"] if left else None,
        "empty_queue_claims": latency_summary(empty_latencies),
        "plan": plan,
        "uses_pending_index": "runs_pending_idx" in plan,
    }


class _Captured(Exception):
    pass


class _Recorder:
    """Stands in for the connection to catch the statement `store.claim_run` sends (the plan is of that text)."""

    query: Any = None
    params: Any = None

    async def execute(self, query: Any, params: Any = None) -> Any:
        self.query, self.params = query, params
        raise _Captured


async def _claim_plan(conn: psycopg.AsyncConnection[Any]) -> str:
    """EXPLAIN ANALYZE of the worker's own claim statement, rolled back."""
    recorder = _Recorder()
    with contextlib.suppress(_Captured):
        await store.claim_run(cast(Any, recorder), worker_id="bench", lease_s=300, max_attempts=3)
    async with conn.transaction(force_rollback=True):
        explain = f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {recorder.query}"
        rows = await (await conn.execute(explain, recorder.params)).fetchall()
    return "\n".join(row["QUERY PLAN"] for row in rows)


async def _empty_claims(admin_url: str, *, claims: int) -> list[float]:
    async with fresh_database(admin_url) as url:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
        async with conn:
            latencies = []
            for _ in range(claims):
                start = time.perf_counter()
                await store.claim_run(conn, worker_id="bench", lease_s=300, max_attempts=3)
                latencies.append(time.perf_counter() - start)
    return latencies


# --- retention -------------------------------------------------------------------------------------------------

_EVENTS_PER_RUN = 100
_DAY_S = 86_400


async def retention(admin_url: str, *, events: int, full_purge: bool) -> dict[str, Any]:
    runs = events // _EVENTS_PER_RUN
    out: dict[str, Any] = {"events": runs * _EVENTS_PER_RUN, "runs": runs, "events_per_run": _EVENTS_PER_RUN}
    async with fresh_database(admin_url) as url:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
        async with conn:
            # Runs that ended over the last 24 hours, oldest first: with a 24 h retention nothing has expired yet.
            await conn.execute(
                """INSERT INTO keel.runs (run_id, assistant_id, graph_id, status, attempt, created_at, started_at,
                                          ended_at)
                   SELECT gen_random_uuid(), 'linear', 'linear', 'success', 1, t, t, t
                     FROM (SELECT now() - make_interval(secs => %(day)s * (1 - n::float8 / %(runs)s)) AS t
                             FROM generate_series(1, %(runs)s) AS n) AS ended""",
                {"runs": runs, "day": _DAY_S - 60},
            )
            started = time.perf_counter()
            batch = 100_000 // _EVENTS_PER_RUN  # runs per INSERT: 100k event rows
            for offset in range(0, runs, batch):
                await conn.execute(
                    """INSERT INTO keel.run_events (run_id, seq, event, data, created_at)
                       SELECT r.run_id, s, 'values', repeat(md5(r.run_id::text || s), 10), r.ended_at
                         FROM (SELECT run_id, ended_at FROM keel.runs ORDER BY ended_at OFFSET %s LIMIT %s) AS r
                        CROSS JOIN generate_series(1, %s) AS s""",
                    (offset, batch, _EVENTS_PER_RUN),
                )
                if offset % (batch * 10) == 0:
                    print(f"scale: retention: {offset * _EVENTS_PER_RUN:,} events inserted", file=sys.stderr)
            out["insert_s"] = round(time.perf_counter() - started, 1)
            # The insert took minutes: move the endings forward by as much, so that still nothing has expired.
            await conn.execute(
                "UPDATE keel.runs SET ended_at = ended_at + make_interval(secs => %s)", (time.perf_counter() - started,)
            )
            await conn.execute("VACUUM ANALYZE keel.run_events")
            await conn.execute("VACUUM ANALYZE keel.runs")
            out["sizes_mb"] = await _sizes(conn)
            # The sweeper's purge every minute: nothing expired, then a minute's runs, an hour's, all of them.
            for label, retention_h in (
                ("nothing expired", 24.0),
                ("one minute expired", 24.0 - 2 / 60),
                ("one hour expired", 23.0 - 2 / 60),
                *([("everything expired", 0.0001)] if full_purge else []),
            ):
                plan_rows = await (
                    await conn.execute(
                        """EXPLAIN (COSTS OFF) DELETE FROM keel.run_events e USING keel.runs r
                           WHERE e.run_id = r.run_id AND r.ended_at < now() - make_interval(secs => %s)""",
                        (retention_h * 3600,),
                    )
                ).fetchall()
                started = time.perf_counter()
                deleted = await store.purge_expired_events(conn, retention_h=retention_h)
                elapsed = time.perf_counter() - started
                out.setdefault("purges", []).append(
                    {
                        "case": label,
                        "rows_deleted": deleted,
                        "seconds": round(elapsed, 3),
                        "plan": "\n".join(row["QUERY PLAN"] for row in plan_rows),
                    }
                )
                print(f"scale: retention: purge, {label}: {deleted:,} rows in {elapsed:.2f} s", file=sys.stderr)
            out["sizes_mb_after_purges"] = await _sizes(conn)
    return out


async def _sizes(conn: psycopg.AsyncConnection[Any]) -> dict[str, float]:
    row = await (
        await conn.execute(
            """SELECT pg_table_size('keel.run_events') AS table_mb, pg_indexes_size('keel.run_events') AS indexes_mb,
                      pg_total_relation_size('keel.runs') AS runs_total_mb"""
        )
    ).fetchone()
    assert row is not None
    return {name: round(value / 2**20, 1) for name, value in row.items()}


# --- entry point -----------------------------------------------------------------------------------------------


async def _run(admin_url: str, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "meta": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(), "started_at": time.time()}
    }
    if "claim" in args.only:
        results["claim"] = await claim(admin_url, pending=args.pending, finished=args.finished, claims=args.claims)
    if "throughput" in args.only:
        results["throughput"] = await throughput(
            admin_url, concurrency=args.concurrency, slices=args.slices, slice_s=args.slice_s
        )
    if "retention" in args.only:
        results["retention"] = await retention(admin_url, events=args.events, full_purge=args.full_purge)
    results["meta"]["load_avg_at_end"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--slices", type=int, default=6, help="slices per setup (alternating order)")
    parser.add_argument("--slice-s", type=float, default=10.0)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--full-purge", action="store_true", help="also purge every row at once (slow)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args(argv)
    with postgres_server() as admin_url:
        results = asyncio.run(_run(admin_url, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
