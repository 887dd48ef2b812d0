"""`python -m evals` (`make eval`): the desk task suite through keel's HTTP API, judged, with a gate.

    python -m evals                           # start keel on a scratch embedded PostgreSQL, run every task once
    python -m evals --repeat 3                # each task 3 times (the report gives pass^1..pass^3)
    python -m evals --chaos all               # then again under tool faults, a worker SIGKILL, a PostgreSQL restart
    python -m evals --url http://127.0.0.1:8000 --database-url postgresql://...   # a keel that is already running

Writes `evals/results/<stamp>/observed.jsonl` (one `Observed` per attempt), then the judge's `report.md` and
`report.json` next to it. Exits 1 when the success rate of the clean attempts is below `--gate` (0.95 by default,
the offline model's bar) or any chaos attempt duplicated an effect; 2 on a usage error."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evals import chaos, desk, report
from evals.cluster import REPO, scratch_cluster
from evals.dataset import Task, load
from evals.records import Observed
from evals.runner import Options, run_all

RESULTS = Path(__file__).parent / "results"
GATE = 0.95


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, action="append", help="a dataset file (default: evals/datasets/*)")
    parser.add_argument("--task", action="append", default=[], help="run only this task id (repeatable)")
    parser.add_argument("--category", action="append", default=[], help="run only this category (repeatable)")
    parser.add_argument("--concurrency", type=int, default=4, help="tasks driven at once (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="attempts per task, for pass^k (default 1)")
    parser.add_argument("--gate", type=float, default=GATE, help=f"least success rate to exit 0 (default {GATE})")
    parser.add_argument("--url", help="drive this running keel instead of starting one")
    parser.add_argument(
        "--database-url",
        help="with --url: its database, to reset and measure the desk (resets the tasks' customers to the seed: a demo"
        " database only)",
    )
    parser.add_argument("--config", type=Path, default=REPO / "langgraph.json", help="graphs of the keel it starts")
    parser.add_argument("--workers", type=int, default=2, help="keel worker processes it starts (default 2)")
    parser.add_argument("--worker-size", type=int, default=4, help="runs each worker executes at once (default 4)")
    parser.add_argument(
        "--chaos", choices=[*chaos.KINDS, "all"], action="append", default=[], help="add a chaos phase (repeatable)"
    )
    parser.add_argument("--task-timeout", type=float, default=300.0, help="seconds one attempt may take")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the <stamp> folder goes")
    return parser


def _select(tasks: list[Task], ids: Sequence[str], categories: Sequence[str]) -> list[Task]:
    if unknown := sorted(set(ids) - {t.id for t in tasks}):
        raise SystemExit(f"python -m evals: unknown task ids {unknown}")
    return [t for t in tasks if (not ids or t.id in ids) and (not categories or t.category in categories)]


async def _suite(args: argparse.Namespace, tasks: list[Task], results: Path) -> list[Observed]:
    kinds: list[chaos.Chaos] = list(chaos.KINDS) if "all" in args.chaos else list(dict.fromkeys(args.chaos))
    out = (results / "observed.jsonl").open("a", encoding="utf-8")

    async def record(observed: Observed) -> None:
        out.write(observed.model_dump_json() + "\n")
        out.flush()
        mark = "error" if observed.error else "done"
        print(f"  {mark} {observed.task_id}#{observed.repeat}" + (f" [{observed.chaos}]" if observed.chaos else ""))

    def options(url: str, database_url: str | None, kind: str | None) -> Options:
        return Options(url, database_url, args.concurrency, args.repeat, args.task_timeout, kind)

    observed: list[Observed] = []
    made: dict[str, list[str]] = {}  # chaos kind: the disruptions it made (chaos.json)
    with out:
        if args.url:
            if kinds:
                raise SystemExit("python -m evals: --chaos needs the keel the eval starts (leave out --url)")
            if args.database_url:
                await asyncio.to_thread(desk.load_seed, args.database_url)
            else:
                print(
                    "no --database-url: the desk is neither reset nor measured, so tasks that expect desk rows fail",
                    file=sys.stderr,
                )
            observed += await run_all(tasks, options(args.url, args.database_url, None), record)
            if args.database_url:
                await asyncio.to_thread(desk.drop_seed, args.database_url)
            return observed
        env = {"KEEL_RUN_LEASE": "5", "KEEL_SHUTDOWN_GRACE": "1"}  # a killed worker's runs come back within seconds
        with scratch_cluster(
            config=args.config, env=env, workers=args.workers, size=args.worker_size, keep=results / "logs"
        ) as cluster:
            await asyncio.to_thread(desk.load_seed, cluster.database_url)
            print(f"keel at {cluster.base_url}; {len(tasks)} tasks x {args.repeat}")
            observed += await run_all(tasks, options(cluster.base_url, cluster.database_url, None), record)
            for kind in kinds:
                print(f"chaos: {kind}")
                async with chaos.phase(cluster, kind, size=args.worker_size) as disruptions:
                    observed += await run_all(tasks, options(cluster.base_url, cluster.database_url, kind), record)
                print(f"chaos {kind}: {len(disruptions)} disruption(s)")
                made[kind] = list(disruptions)
            if made:
                (results / "chaos.json").write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    return observed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tasks = _select(load(args.dataset), args.task, args.category)
    if not tasks:
        print("python -m evals: no task to run", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results = args.results / stamp
    results.mkdir(parents=True, exist_ok=True)
    observed = asyncio.run(_suite(args, tasks, results))

    summary = report.write(results, tasks, observed)
    duplicated = sum(o.duplicated_effects for o in observed if o.chaos)
    print(f"success {summary.success_rate:.1%} ({summary.passed}/{summary.total}), gate {args.gate:.0%}")
    print(f"report: {results / 'report.md'}")
    for row in summary.errors:
        print(f"  failing: {json.dumps(row)}")
    if duplicated:
        print(f"chaos: {duplicated} duplicated effects (must be 0)")
    return 0 if summary.success_rate >= args.gate and not duplicated else 1


if __name__ == "__main__":
    sys.exit(main())
