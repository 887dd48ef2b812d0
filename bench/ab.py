"""`python -m bench.ab REF`: the served c1/c20 measurement for two versions of keel at once, this checkout
and git REF (checked out in a temporary worktree), each on its own database and `keel serve` process, with
the load alternating between them in slices. Both see the same host, so a change shows even when the host's
speed drifts by a quarter between two `make bench` runs. Prints the median of the slices per version:
runs/s, p50 run and first-event latency, and keel's CPU per run (from /proc)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bench import served
from bench.harness import fresh_database, postgres_server, start_keel
from tests.process import REPO, KeelProcess

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


async def _slices(servers: dict[str, KeelProcess], *, concurrency: int, slices: int, slice_s: float) -> None:
    found: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for server in servers.values():
        await served.measure(server.base_url, concurrency=concurrency, duration_s=2)  # warm up
    for index in range(slices):
        order = list(servers.items()) if index % 2 == 0 else list(reversed(servers.items()))
        for name, server in order:
            before = _cpu_s(server.proc.pid)
            result = await served.measure(server.base_url, concurrency=concurrency, duration_s=slice_s, warmup_runs=2)
            runs = max(result["runs"], 1)
            found[name].append(
                {
                    "runs_per_s": result["runs_per_s"],
                    "p50_ms": result["run"]["p50_ms"],
                    "first_event_ms": result["first_event"]["p50_ms"],
                    "cpu_ms_per_run": 1000 * (_cpu_s(server.proc.pid) - before) / runs,
                    "errors": result["errors"],
                }
            )
    for name, rows in found.items():
        median = {key: round(statistics.median(row[key] for row in rows), 2) for key in rows[0]}
        median["errors"] = sum(row["errors"] for row in rows)
        print(f"c{concurrency} {name}: {median}  runs/s per slice: {[row['runs_per_s'] for row in rows]}")


async def _run(admin_url: str, ref_tree: Path, ref: str, args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        servers: dict[str, KeelProcess] = {}
        for name, repo in ((ref, ref_tree), ("this checkout", REPO)):
            # Each version migrates its own database at start: their migrations may differ.
            url = await stack.enter_async_context(fresh_database(admin_url, migrate=False))
            folder = Path(tempfile.mkdtemp(prefix="keel-ab-"))
            stack.callback(shutil.rmtree, folder, True)
            server = start_keel(url, folder, repo=repo)
            stack.callback(server.stop)
            await asyncio.to_thread(server.wait_ready)
            servers[name] = server
        for concurrency in args.concurrency:
            await _slices(servers, concurrency=concurrency, slices=args.slices, slice_s=args.slice_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("ref", help="the git commit or branch to compare this checkout with")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--slices", type=int, default=6, help="slices per version (alternating order)")
    parser.add_argument("--slice-s", type=float, default=6.0, help="seconds of load per slice")
    args = parser.parse_args(argv)
    tree = Path(tempfile.mkdtemp(prefix="keel-ab-ref-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.ref], check=True)
    try:
        with postgres_server() as admin_url:
            asyncio.run(_run(admin_url, tree, args.ref, args))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
