"""`python -m bench --peers`: keel, the LangGraph dev server and Aegra serving the same 5-node graph
(bench/graphs.py `linear`), driven by the same client (bench/served.py), with the load alternating between
them in slices in one run, beside the in-process floor; then issue 18's targets as ratios.

The peers are installed into bench-only virtual environments under `KEEL_BENCH_PEERS_DIR` (default
`/tmp/keel-bench-peers`), never into keel's uv.lock: `langgraph-cli[inmem]` (`langgraph dev`, in memory, no
durability) and `aegra-api` (PostgreSQL through SQLAlchemy/asyncpg plus LangGraph's checkpointer). Aegra's
migrations create the `uuid-ossp` extension, which the embedded PostgreSQL wheel lacks, so this run uses
Debian's PostgreSQL (`apt-get install postgresql postgresql-contrib`) in a temporary data directory for all
of keel, Aegra and the floor: one database server for everyone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from bench import served
from bench.floor import floor_pool
from bench.graphs import build_linear
from bench.harness import fresh_database, latency_summary, start_keel
from tests.process import end_process, free_port

PEERS_DIR = Path(os.environ.get("KEEL_BENCH_PEERS_DIR", "/tmp/keel-bench-peers"))
# What each peer's environment installs. sqlalchemy 2.1 made greenlet optional; Aegra's async engine needs it.
REQUIREMENTS = {
    "langgraph-dev": ["langgraph-cli[inmem]"],
    "aegra": ["aegra-api", "greenlet"],
}
GRAPHS_PY = Path(__file__).resolve().parent / "graphs.py"
READY_S = 120.0


class Blocked(RuntimeError):
    """A peer that cannot be installed or served here; the message says why."""


@dataclass
class Served:
    name: str
    base_url: str
    pid: int


# --- environments and processes -------------------------------------------------------------------------------


def peer_env(name: str) -> Path:
    """The peer's virtual environment, created and installed on first use (a marker records what was asked)."""
    venv = PEERS_DIR / name
    marker = venv / ".requirements"
    wanted = "\n".join(REQUIREMENTS[name])
    if marker.exists() and marker.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    try:
        if uv:
            subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
            env = {**os.environ, "VIRTUAL_ENV": str(venv)}
            subprocess.run([uv, "pip", "install", "-q", *REQUIREMENTS[name]], check=True, env=env)
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *REQUIREMENTS[name]], check=True)
    except subprocess.CalledProcessError as exc:
        raise Blocked(f"{name}: installing {REQUIREMENTS[name]} failed ({exc})") from exc
    marker.write_text(wanted)
    return venv


def installed_versions(venv: Path, packages: list[str]) -> dict[str, str]:
    script = "import importlib.metadata as m, sys\nfor p in sys.argv[1:]:\n print(p, m.version(p))"
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, *packages], capture_output=True, text=True, check=False
    )
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


def app_folder(folder: Path) -> Path:
    """bench/graphs.py copied beside a langgraph.json that registers its compiled `linear` graph by file path
    (both peers load graphs from files; neither has keel's packages)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "graphs.py").write_text(GRAPHS_PY.read_text() + "\n\nlinear_graph = linear.compile()\n")
    (folder / "langgraph.json").write_text(
        '{"graphs": {"linear": "./graphs.py:linear_graph"}, "dependencies": ["."]}\n'
    )
    return folder


def _quiet_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LANGSMITH", "LANGCHAIN", "OPENAI"))}
    env.update(LANGSMITH_TRACING="false", LANGGRAPH_CLI_NO_ANALYTICS="1", LOG_LEVEL="WARNING", **extra)
    return env


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Blocked(f"exited with {proc.returncode} before answering; last output:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.5)
    raise Blocked(f"did not answer {url} within {READY_S:.0f} s")


@contextlib.contextmanager
def _process(cmd: list[str], *, env: dict[str, str], cwd: Path, ready_url: str, name: str) -> Iterator[int]:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            _wait_ready(proc, ready_url, log)
        except Blocked as exc:
            raise Blocked(f"{name}: {exc}") from exc
        yield proc.pid
    finally:
        end_process(proc, timeout=15)


@contextlib.contextmanager
def langgraph_dev(folder: Path) -> Iterator[Served]:
    venv = peer_env("langgraph-dev")
    port = free_port()
    cmd = [str(venv / "bin" / "langgraph"), "dev", "--no-browser", "--no-reload", "--port", str(port)]
    cmd += ["--config", str(folder / "langgraph.json"), "--server-log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    with _process(cmd, env=_quiet_env(), cwd=folder, ready_url=f"{base}/ok", name="langgraph-dev") as pid:
        yield Served("langgraph dev", base, pid)


@contextlib.contextmanager
def aegra(folder: Path, database_url: str) -> Iterator[Served]:
    venv = peer_env("aegra")
    port = free_port()
    cmd = [str(venv / "bin" / "python"), "-m", "uvicorn", "aegra_api.main:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    env = _quiet_env(DATABASE_URL=database_url, AEGRA_CONFIG=str(folder / "langgraph.json"), AUTH_TYPE="noop")
    base = f"http://127.0.0.1:{port}"
    with _process(cmd, env=env, cwd=folder, ready_url=f"{base}/health", name="aegra") as pid:
        yield Served("aegra", base, pid)


def _debian_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    extension = sorted(Path("/usr/share/postgresql").glob("*/extension/uuid-ossp.control"))
    if not found or not extension:
        raise Blocked("aegra: needs Debian's PostgreSQL with contrib: apt-get install postgresql postgresql-contrib")
    return found[-1].parent


@contextlib.contextmanager
def debian_postgres() -> Iterator[str]:
    """A superuser URL on Debian's PostgreSQL in a temporary data directory (fsync off, as a scratch server),
    run as the `postgres` user when this process is root (PostgreSQL refuses root)."""
    bindir = _debian_bin()
    folder = Path(tempfile.mkdtemp(prefix="keel-bench-peers-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
        subprocess.run(
            [*pg_ctl, "-o", options, "-l", str(folder / "pg.log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the measurement -------------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """CPU seconds of the process and its children (`langgraph dev` may run the server in a child)."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def postgres_cpu_s(postmaster: psutil.Process) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live processes, and those it has reaped."""
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


async def postmaster_of(database_url: str) -> psutil.Process:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    parent = psutil.Process(row[0]).parent()
    assert parent is not None
    return parent


@dataclass
class Floor:
    """The in-process floor of bench/floor.py (durability sync), kept open so it can take its slices too."""

    graph: Any
    postgres: psutil.Process  # the postmaster, whose CPU each slice also counts

    async def slice(self, concurrency: int, duration_s: float) -> dict[str, float]:
        latencies: list[float] = []
        deadline = time.perf_counter() + duration_s

        async def loop() -> None:
            while time.perf_counter() < deadline:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                start = time.perf_counter()
                await self.graph.ainvoke({"x": 0}, config, durability="sync")
                latencies.append(time.perf_counter() - start)

        start, cpu, pg = time.perf_counter(), time.process_time(), postgres_cpu_s(self.postgres)
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        runs = max(len(latencies), 1)
        return {
            "runs_per_s": len(latencies) / wall,
            "p50_ms": latency_summary(latencies)["p50_ms"],
            # This process runs nothing else meanwhile: its CPU is the graph's own with its checkpointer.
            "cpu_ms_per_run": 1000 * (time.process_time() - cpu) / runs,
            "pg_cpu_ms_per_run": 1000 * (postgres_cpu_s(self.postgres) - pg) / runs,
        }


@contextlib.asynccontextmanager
async def open_floor(database_url: str, concurrency: int) -> AsyncIterator[Floor]:
    pool = floor_pool(database_url, concurrency)
    async with pool:
        graph = build_linear().compile(checkpointer=AsyncPostgresSaver(pool))
        floor = Floor(graph, await postmaster_of(database_url))
        await floor.slice(1, 1.0)  # warm up
        yield floor


async def _served_slice(
    server: Served, postgres: psutil.Process, concurrency: int, duration_s: float
) -> dict[str, float]:
    before, client, pg = _cpu_s(server.pid), time.process_time(), postgres_cpu_s(postgres)
    result = await served.measure(server.base_url, concurrency=concurrency, duration_s=duration_s, warmup_runs=2)
    runs = max(result["runs"], 1)
    # The client (this process: the floor is idle meanwhile) and PostgreSQL share the two cores with the server.
    client_ms, pg_ms = 1000 * (time.process_time() - client) / runs, 1000 * (postgres_cpu_s(postgres) - pg) / runs
    return {
        "runs_per_s": result["runs_per_s"],
        "p50_ms": result["run"]["p50_ms"],
        "total_p50_ms": result["total"]["p50_ms"],
        "first_event_ms": result["first_event"]["p50_ms"],
        "cpu_ms_per_run": 1000 * (_cpu_s(server.pid) - before) / runs,
        "client_cpu_ms_per_run": client_ms,
        "pg_cpu_ms_per_run": pg_ms,
        "errors": result["errors"],
    }


def _median(rows: list[dict[str, float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {key: round(statistics.median(row[key] for row in rows), 2) for key in rows[0]}
    if "errors" in rows[0]:
        summary["errors"] = sum(row["errors"] for row in rows)
    summary["slices"] = len(rows)
    # Slice by slice, for the paired ratios: a busy host moves every server's figures by up to 3x between rounds.
    summary["by_slice"] = {key: [round(row[key], 2) for row in rows] for key in rows[0] if key != "errors"}
    return summary


def paired(a: dict[str, Any], b: dict[str, Any], key_a: str, key_b: str | None = None) -> float:
    """The median over rounds of a's figure over b's from the same round (neighbours in time)."""
    ratios = [x / y for x, y in zip(a["by_slice"][key_a], b["by_slice"][key_b or key_a], strict=True) if y]
    return float(statistics.median(ratios))


async def slices(
    floor: Floor, servers: list[Served], *, concurrency: int, count: int, slice_s: float
) -> dict[str, dict[str, Any]]:
    """`count` rounds; each round gives every server (and the floor) one slice, the order rotating."""
    found: dict[str, list[dict[str, float]]] = {"floor": [], **{server.name: [] for server in servers}}
    for server in servers:
        await served.measure(server.base_url, concurrency=concurrency, duration_s=2, warmup_runs=5)
    for index in range(count):
        shift = index % (len(servers) + 1)
        order: list[Served | None] = [None, *servers]
        for turn in order[shift:] + order[:shift]:
            if turn is None:
                found["floor"].append(await floor.slice(concurrency, slice_s))
            else:
                found[turn.name].append(await _served_slice(turn, floor.postgres, concurrency, slice_s))
        print(f"bench --peers: c{concurrency} round {index + 1}/{count} done", file=sys.stderr)
    return {name: _median(rows) for name, rows in found.items() if rows}


Check = tuple[str, str, str, bool]


def check(results: dict[str, Any]) -> list[Check]:
    """Issue 18 item 2, each the median of the rounds' paired ratios."""
    c1, c20 = results["c1"], results["c20"]
    keel1, keel20, floor1, floor20 = c1["keel"], c20["keel"], c1["floor"], c20["floor"]
    checks: list[Check] = []
    if "langgraph dev" in c20:
        ratio = paired(keel20, c20["langgraph dev"], "runs_per_s")
        checks.append(("c20 runs/s ≥ 1.3 x LangGraph dev server", f"{ratio:.2f} x", "1.3 x", ratio >= 1.3))
    if "aegra" in c20:
        ratio = paired(keel20, c20["aegra"], "runs_per_s")
        checks.append(("c20 runs/s ≥ 3 x Aegra", f"{ratio:.2f} x", "3 x", ratio >= 3))
    ratio = paired(keel1, floor1, "total_p50_ms", "p50_ms")
    checks.append(("c1 p50 run incl. thread creation ≤ 2 x floor c1 p50", f"{ratio:.2f} x", "2 x", ratio <= 2))
    ratio = paired(keel1, floor1, "first_event_ms", "p50_ms")
    checks.append(("c1 p50 first event ≤ 0.5 x floor c1 p50 run", f"{ratio:.2f} x", "0.5 x", ratio <= 0.5))
    ratio = paired(keel20, floor20, "runs_per_s")
    checks.append(("served / floor runs/s at c20 ≥ 0.7", f"{ratio:.2f}", "0.7", ratio >= 0.7))
    return checks


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "#### Side by side: the 5-node graph served by keel and its peers, one interleaved run",
        "",
        f"{meta['started_at']}, {meta['cpus']} CPUs, load average at start {meta['load_avg_at_start']}; "
        f"{meta['slices']} rounds of one {meta['slice_s']} s slice per server and concurrency, medians; "
        "each target is the median of the rounds' paired ratios. "
        f"Versions: {meta['versions']}. Blocked: {meta['blocked'] or 'none'}.",
        "",
        "| server | c1 p50 run ms | c1 p50 incl. thread ms | c1 first event ms | c1 runs/s | c20 runs/s "
        "| c20 p50 ms | CPU ms/run c1 | CPU ms/run c20 | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    c1, c20 = results["c1"], results["c20"]
    for name in c1:
        one, twenty = c1[name], c20.get(name, {})
        lines.append(
            f"| {name} | {one['p50_ms']} | {one.get('total_p50_ms', '-')} | {one.get('first_event_ms', '-')} "
            f"| {one['runs_per_s']} | {twenty.get('runs_per_s', '-')} | {twenty.get('p50_ms', '-')} "
            f"| {one.get('cpu_ms_per_run', '-')} | {twenty.get('cpu_ms_per_run', '-')} "
            f"| {one.get('errors', 0) + twenty.get('errors', 0) if 'errors' in one else '-'} |"
        )
    lines += ["", "| target | this run | limit | holds |", "| --- | --- | --- | --- |"]
    for name, value, limit, holds in results["checks"]:
        lines.append(f"| {name} | {value} | {limit} | {'holds' if holds else 'does not hold'} |")
    by = {n: results[f"c{n}"] for n in (1, 20)}
    cpu = [f"c{n} {paired(found['keel'], found['floor'], 'cpu_ms_per_run'):.2f} x" for n, found in by.items()]
    lines += [
        "",
        f"keel's CPU per run over the graph's own (the floor's process, same rounds): {', '.join(cpu)}.",
        "",
        "CPU per run counts the server's process tree only (not PostgreSQL, not the client). "
        "keel: durability `sync`; LangGraph dev: in memory; Aegra: its defaults.",
        "",
        *cpu_budget(c20, results["meta"]["cpus"]),
    ]
    return "\n".join(lines)


def cpu_budget(c20: dict[str, Any], cpus: int) -> list[str]:
    """Where each run's CPU goes at c20, every process on the host counted, and the most runs/s the host's cores
    allow at that cost: no server can be faster than its cores, whatever it waits on."""
    lines = [
        f"All CPU per run at c20 (the host has {cpus} cores, shared by the server, its client and PostgreSQL):",
        "",
        "| at c20 | server ms | client ms | PostgreSQL ms | total ms | cores allow runs/s | measured runs/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, found in c20.items():
        server, client = found["cpu_ms_per_run"], found.get("client_cpu_ms_per_run", 0.0)
        total = server + client + found["pg_cpu_ms_per_run"]
        lines.append(
            f"| {name} | {server} | {client if name != 'floor' else '(in the server)'} | {found['pg_cpu_ms_per_run']} "
            f"| {total:.2f} | {1000 * cpus / total:.0f} | {found['runs_per_s']} |"
        )
    return [*lines, ""]


async def measure(admin_url: str, *, count: int, slice_s: float) -> dict[str, Any]:
    blocked: list[str] = []
    versions: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="keel-bench-peers-"))
        stack.callback(shutil.rmtree, folder, True)
        app = app_folder(folder / "app")
        keel_url = await stack.enter_async_context(fresh_database(admin_url))
        keel = start_keel(keel_url, folder)
        stack.callback(keel.stop)
        await asyncio.to_thread(keel.wait_ready)
        servers = [Served("keel", keel.base_url, keel.proc.pid)]
        try:
            server = await asyncio.to_thread(stack.enter_context, langgraph_dev(app))
            servers.append(server)
            versions.update(installed_versions(PEERS_DIR / "langgraph-dev", ["langgraph-api", "langgraph"]))
        except Blocked as exc:
            blocked.append(str(exc))
        try:
            aegra_url = await stack.enter_async_context(fresh_database(admin_url, migrate=False))
            server = await asyncio.to_thread(stack.enter_context, aegra(app, aegra_url))
            servers.append(server)
            versions.update(installed_versions(PEERS_DIR / "aegra", ["aegra-api"]))
        except Blocked as exc:
            blocked.append(str(exc))
        floor_url = await stack.enter_async_context(fresh_database(admin_url))
        results: dict[str, Any] = {"blocked": blocked, "versions": versions}
        for concurrency in (1, 20):
            async with open_floor(floor_url, concurrency) as floor:
                results[f"c{concurrency}"] = await slices(
                    floor, servers, concurrency=concurrency, count=count, slice_s=slice_s
                )
    results["checks"] = check(results)
    return results
