"""Large events stored as differences, through `keel serve`: a replay (join, Last-Event-ID from any event, another
process) sends the bytes the live stream sent, the run's log stays near its input, and the thread's checkpoints
going away changes nothing (the log depends only on its own rows)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.process import KeelProcess
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow

BIG = 88_000  # characters in the large input message (KEEL_MAX_MESSAGE_CHARS is 100,000; the bench uses 1 MB)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(f"{rng.getrandbits(40):x}" for _ in range(count))


def _frames(body: bytes) -> list[bytes]:
    """The SSE frames of a stream, heartbeat comments left out."""
    return [frame for frame in body.split(b"\r\n\r\n") if frame and not frame.startswith(b":")]


def _seq(frame: bytes) -> int:
    return int(frame.split(b"\r\n", 1)[0].removeprefix(b"id: "))


async def _live(http: httpx.AsyncClient, thread_id: str, **body: Any) -> list[bytes]:
    payload = {"assistant_id": "grow", "if_not_exists": "create", **body}
    async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=payload) as response:
        assert response.status_code == 200, await response.aread()
        return _frames(await response.aread())


async def _replay(http: httpx.AsyncClient, thread_id: str, run_id: str, last: int | None = None) -> list[bytes]:
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    async with http.stream("GET", f"/threads/{thread_id}/runs/{run_id}/stream", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        return _frames(await response.aread())


def _run_id(frames: list[bytes]) -> str:
    metadata = frames[0].split(b"data: ", 1)[1]
    return str(uuid.UUID(metadata.split(b'"run_id":"', 1)[1][:36].decode()))


def _log_bytes(url: str, run_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(octet_length(data)), 0) FROM keel.run_events WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
async def http(served: KeelProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
        yield client


BODY: dict[str, Any] = {"stream_mode": ["values", "updates"], "stream_subgraphs": True}


async def test_replay_sends_the_live_bytes_and_the_log_stays_near_its_input(
    served: KeelProcess, http: httpx.AsyncClient
) -> None:
    thread_id = str(uuid.uuid4())
    big = human(_words(random.Random(1), BIG // 11))
    live = await _live(http, thread_id, input=big, **BODY)
    run_id = _run_id(live)
    names = [frame.split(b"\r\n")[1] for frame in live]
    assert names.count(b"event: values") == 4 and b"event: values|inner" in b" ".join(names), names
    assert sum(len(frame) for frame in live) > 7 * BIG, "every values event carries the whole state"
    assert _log_bytes(served.env["DATABASE_URL"], run_id) <= 1.5 * len(str(big)), "the log does not copy state"

    assert await _replay(http, thread_id, run_id) == live
    for frame in live[:-1]:  # reconnecting after each event
        seq = _seq(frame)
        assert await _replay(http, thread_id, run_id, seq) == [f for f in live if _seq(f) > seq], seq


async def test_an_interrupted_run_and_its_resume_replay_exactly(served: KeelProcess, http: httpx.AsyncClient) -> None:
    thread_id = str(uuid.uuid4())
    big = human(_words(random.Random(2), BIG // 11))
    first = await _live(http, thread_id, input=big, interrupt_before=["last"], **BODY)
    assert b"__interrupt__" in first[-2] or b"event: values" in first[-2], first[-2][:200]
    resumed = await _live(http, thread_id, input=None, **BODY)  # continues past interrupt_before
    for frames in (first, resumed):
        run_id = _run_id(frames)
        assert await _replay(http, thread_id, run_id) == frames
        assert await _replay(http, thread_id, run_id, _seq(frames[2])) == frames[3:]


async def test_the_log_replays_exactly_after_the_threads_checkpoints_are_gone(
    served: KeelProcess, http: httpx.AsyncClient
) -> None:
    """Retention rule: the event log depends only on its own rows. Checkpoints pruned or expired leave it
    whole; it goes when its run goes (thread delete, KEEL event retention), never half-way."""
    thread_id = str(uuid.uuid4())
    live = await _live(http, thread_id, input=human(_words(random.Random(4), BIG // 11)), **BODY)
    run_id = _run_id(live)
    with psycopg.connect(served.env["DATABASE_URL"], autocommit=True) as conn:
        for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
            deleted = conn.execute(f"DELETE FROM {table} WHERE thread_id = %s", (thread_id,)).rowcount
            assert table == "checkpoint_writes" or deleted > 0, table
    assert await _replay(http, thread_id, run_id) == live
    assert await _replay(http, thread_id, run_id, _seq(live[3])) == live[4:]

    assert (await http.delete(f"/threads/{thread_id}")).status_code == 204
    gone = await http.get(f"/threads/{thread_id}/runs/{run_id}/stream", headers={"Last-Event-ID": "2"})
    assert gone.status_code == 404, gone.text


async def test_a_run_executed_in_another_process_streams_and_replays_exactly(cluster: Cluster) -> None:
    one, other = cluster.api("api-one"), cluster.api("api-two")
    cluster.worker("worker")
    thread_id = str(uuid.uuid4())
    async with (
        httpx.AsyncClient(base_url=one.base_url, timeout=60) as first,
        httpx.AsyncClient(base_url=other.base_url, timeout=60) as second,
    ):
        live = await _live(first, thread_id, input=human(_words(random.Random(5), BIG // 11)), **BODY)
        run_id = _run_id(live)
        assert await _replay(second, thread_id, run_id) == live
        for frame in live[:-1]:
            seq = _seq(frame)
            assert await _replay(second, thread_id, run_id, seq) == [f for f in live if _seq(f) > seq], seq
