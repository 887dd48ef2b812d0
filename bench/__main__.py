"""`python -m bench` (`make bench`): every measurement in one run on this machine, then
bench/results/latest.json and latest.md. `--quick` shortens the timed loops for iterating; `--only` picks
measurements. Loopback only; every loop is bounded by a count or a duration."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import floor, offline, peers, resume, served, storage, streaming
from bench.harness import fresh_database, keel_server, postgres_server
from bench.report import markdown

RESULTS = Path(__file__).resolve().parent / "results"
MEASUREMENTS = ("floor", "served", "streaming", "resume", "storage", "offline")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short loops (seconds, not minutes) for iterating")
    parser.add_argument("--only", nargs="+", choices=MEASUREMENTS, default=list(MEASUREMENTS))
    parser.add_argument(
        "--peers",
        action="store_true",
        help="keel, the LangGraph dev server and Aegra side by side (bench/peers.py); writes peers.json and peers.md",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json and latest.md go")
    return parser


async def _run(admin_url: str, only: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def note(name: str, started: float) -> None:
        print(f"bench: {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr)

    if "floor" in only:
        started = time.monotonic()
        async with fresh_database(admin_url) as url:
            results["floor"] = await floor.measure(url, runs=100 if quick else 500, concurrency=20)
        note("floor", started)
    served_parts = [name for name in ("served", "streaming", "resume") if name in only]
    if served_parts:
        async with fresh_database(admin_url) as url, keel_server(url) as keel:
            if "served" in only:
                started = time.monotonic()
                results["served"] = {
                    "c1": await served.measure(keel.base_url, concurrency=1, duration_s=5 if quick else 20),
                    "c20": await served.measure(keel.base_url, concurrency=20, duration_s=10 if quick else 60),
                }
                note("served", started)
            if "streaming" in only:
                started = time.monotonic()
                results["streaming"] = await streaming.measure(keel.base_url, url, repeats=5 if quick else 40)
                note("streaming", started)
            if "resume" in only:
                started = time.monotonic()
                results["resume"] = await resume.measure(keel.base_url, repeats=10 if quick else 50)
                note("resume", started)
    if "storage" in only:
        started = time.monotonic()
        async with fresh_database(admin_url) as url:
            results["storage"] = await storage.measure(url)
        note("storage", started)
    if "offline" in only:
        started = time.monotonic()
        results["offline"] = offline.measure(repeats=1 if quick else 5)
        note("offline", started)
    return results


def _peers(args: argparse.Namespace) -> int:
    count, slice_s = (2, 3.0) if args.quick else (6, 8.0)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    with peers.debian_postgres() as admin_url:
        results = asyncio.run(peers.measure(admin_url, count=count, slice_s=slice_s))
    results["meta"] = {
        "started_at": started,
        "cpus": os.cpu_count(),
        "load_avg_at_start": tuple(round(value, 2) for value in load),
        "load_avg_at_end": tuple(round(value, 2) for value in os.getloadavg()),
        "slices": count,
        "slice_s": slice_s,
        "versions": results.pop("versions"),
        "blocked": results.pop("blocked"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.json").write_text(json.dumps(results, indent=2) + "\n")
    text = peers.markdown(results)
    (args.out / "peers.md").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.peers:
        return _peers(args)
    # The offline model's measurement needs no database.
    needs_postgres = any(name != "offline" for name in args.only)
    with postgres_server() if needs_postgres else contextlib.nullcontext("") as admin_url:
        meta = {
            "started_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": "KEEL_BENCH_DATABASE_URL" if os.environ.get("KEEL_BENCH_DATABASE_URL") else "embedded",
            "load_avg_at_start": os.getloadavg(),
        }
        results = {"meta": meta, **asyncio.run(_run(admin_url, args.only, args.quick))}
    results["meta"]["load_avg_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (args.out / "latest.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
