"""Large events (a run's `values`: the whole state at every step) are stored as differences from the run's
previous event of the same name, and every reader gets back the exact text the live stream sent: replay with
Last-Event-ID from any event, in any process, with the thread's checkpoints gone or not."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from server.db.pool import Pool
from server.runs import store
from server.runs.deltas import MAX_CHAIN, MIN_CHARS, Differ, common_prefix, rebuild
from server.runs.events import EventLog, follow_batches
from server.runs.notify import Notifier
from server.runs.store import events as stored_events
from tests.process import KeelProcess
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.waiting import scaled, wait_until_async

BIG = 88_000  # characters in the large input message (KEEL_MAX_MESSAGE_CHARS is 100,000; the bench uses 1 MB)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(f"{rng.getrandbits(40):x}" for _ in range(count))


def test_common_prefix_finds_the_first_difference_wherever_it_is() -> None:
    text = "ab" * 40_000
    for at in (0, 1, 4095, 4096, 4097, 12_287, 12_288, 79_999):
        changed = text[:at] + "#" + text[at + 1 :]
        assert common_prefix(text, changed) == at
    assert common_prefix(text, text) == len(text)
    assert common_prefix(text, text[:100]) == 100
    assert common_prefix("", "x") == 0


def test_every_stored_difference_rebuilds_its_text_exactly() -> None:
    rng = random.Random(18)
    differ = Differ()
    texts: dict[int, str] = {}
    stored: dict[int, Any] = {}
    state = [_words(rng, 300)]
    for seq in range(1, 120):
        # Appends, edits in the middle, removals and replacements, under two names that interleave.
        roll = rng.random()
        if roll < 0.6:
            state.append(_words(rng, rng.randint(1, 30)))
        elif roll < 0.8 and len(state) > 1:
            state[rng.randrange(len(state))] = _words(rng, rng.randint(1, 30))
        elif roll < 0.9 and len(state) > 1:
            state.pop(rng.randrange(len(state)))
        else:
            state = [_words(rng, 400)]
        name = "values" if seq % 3 else "values|inner:1"
        texts[seq] = '{"messages":[' + ",".join(f'"{m}"' for m in state) + '],"n":' + str(seq) + "}"
        stored[seq] = differ.store(seq, name, texts[seq])
    differences = {seq: s for seq, s in stored.items() if s is not None}
    assert len(differences) > 60, "appends are stored as differences"
    for seq, s in differences.items():
        assert s.base < seq and len(s.literals) <= len(texts[seq]) / 2
        assert rebuild(texts[s.base], s.copies, s.literals) == texts[seq]
    assert max(_links(stored, seq) for seq in stored) <= MAX_CHAIN, "chains are cut"


def _links(stored: dict[int, Any], seq: int) -> int:
    links = 0
    while stored[seq] is not None:
        seq, links = stored[seq].base, links + 1
    return links


def test_a_state_wrapped_in_an_update_or_changed_at_both_ends_is_stored_as_copies() -> None:
    rng = random.Random(7)
    big, first, second = _words(rng, 5000), _words(rng, 3), _words(rng, 3)
    differ = Differ()
    base = f'{{"n":1,"messages":["{big}","{first}"],"done":false}}'
    assert differ.store(1, "values", base) is None
    changed = f'{{"n":2,"messages":["{big}","{first}","{second}"],"done":true}}'
    wrapped = f'{{"inner":{{"messages":["{big}","{first}","{second}"]}}}}'
    for seq, name, text in ((2, "values", changed), (3, "updates", wrapped)):
        stored = differ.store(seq, name, text)
        assert stored is not None and len(stored.literals) < 100, (name, stored and stored.literals)
        assert rebuild(base if seq == 2 else changed, stored.copies, stored.literals) == text


def test_small_events_are_stored_whole() -> None:
    differ = Differ()
    text = "x" * (MIN_CHARS - 10)
    assert differ.store(1, "values", text) is None
    assert differ.store(2, "values", text + "y") is None


async def _new_run(pool: Pool) -> uuid.UUID:
    thread_id = uuid.uuid4()
    async with pool.connection() as conn, conn.transaction():
        await store.ensure_thread(conn, thread_id, if_not_exists="create", graph_id="g", assistant_id="a")
        run = await store.create_run(
            conn,
            thread_id=thread_id,
            assistant_id="g",
            graph_id="g",
            kwargs={},
            metadata={},
            multitask_strategy="enqueue",
        )
    run_id: uuid.UUID = run["run_id"]
    return run_id


async def test_reading_from_any_event_gives_every_later_event_exactly(pool: Pool) -> None:
    run_id = await _new_run(pool)
    rng = random.Random(3)
    sent: list[tuple[str, str]] = [("metadata", "{}")]
    messages = [_words(rng, 2000)]
    for step in range(40):
        messages.append(_words(rng, 5))
        sent.append(("values", '{"messages":["' + '","'.join(messages) + '"]}'))
        if step % 4 == 0:
            sent.append(("values|inner:2", '{"inner":["' + '","'.join(messages[::-1]) + '"],"step":' + f"{step}}}"))
        sent.append(("updates", '{"n":"' + messages[-1] + '"}'))
    log = EventLog(pool, run_id, next_seq=1, max_batch=7)  # several batches: bases in earlier ones
    for event, data in sent:
        await log.append(event, data)
    final = await log.seal([("end", "{}")])
    async with pool.connection() as conn:
        assert await store.finish_run(conn, run_id, status="success", events=final)
    sent.append(("end", "{}"))

    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT sum(octet_length(data)) AS stored, count(*) FILTER (WHERE base > 0) AS differences"
                " FROM keel.run_events WHERE run_id = %s",
                (run_id,),
            )
        ).fetchone()
    assert row is not None
    whole = sum(len(data.encode()) for _, data in sent)
    # The sub-graph's events change at both ends (a message in front, a counter at the end).
    assert row["differences"] >= 45 and row["stored"] < whole / 10, (row, whole)
    for after in range(len(sent)):
        events, _ = await store.read_events(pool, run_id, after=after, limit=5)
        assert [(e.event, e.data) for e in events] == sent[after : after + 5], f"after {after}"
        assert [e.seq for e in events] == list(range(after + 1, after + 1 + len(events)))


async def test_a_follower_of_a_run_written_elsewhere_gets_exact_texts_without_rebuilding_chains(
    pool: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    rebuilt: list[int] = []
    real = stored_events._text_of

    async def counted(conn: Any, run: uuid.UUID, seq: int) -> str:
        rebuilt.append(seq)
        return await real(conn, run, seq)

    monkeypatch.setattr(stored_events, "_text_of", counted)
    notifier = Notifier(database_url)
    await notifier.start()
    try:
        got: list[str] = []
        follower = asyncio.create_task(_collect(follow_batches(pool, notifier, run_id, after=0, poll_s=5.0), got))
        log = EventLog(pool, run_id, next_seq=1)  # no RecentEvents: as if written by another process
        rng = random.Random(9)
        messages, sent = [_words(rng, 3000)], []
        for _ in range(12):
            messages.append(_words(rng, 4))
            sent.append('{"messages":["' + '","'.join(messages) + '"]}')
            await log.append("values", sent[-1])
            await wait_until_async(lambda: len(got) == len(sent), what="the event to reach the follower")
        final = await log.seal([("end", "{}")])
        async with pool.connection() as conn:
            assert await store.finish_run(conn, run_id, status="success", events=final)
        await asyncio.wait_for(follower, timeout=scaled(30))
    finally:
        await notifier.stop()
    assert got == [*sent, "{}"]
    assert rebuilt == [], "each base is one the follower has just sent"


async def _collect(batches: AsyncIterator[list[Any]], into: list[str]) -> None:
    async for batch in batches:
        into.extend(event.data for event in batch)


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


@pytest.mark.slow
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
