"""The event log and its followers: batches this process committed are handed to its own followers from
memory, and anything written elsewhere still reaches them, in order, exactly once; and SSE frames."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from sse_starlette import ServerSentEvent

from server.db.pool import Pool
from server.runs import events as events_module
from server.runs import store
from server.runs.events import Event, EventLog, follow_batches
from server.runs.notify import EVENTS_CHANNEL, Notifier
from server.runs.recent import RecentEvents
from server.runs.sse import sse_frame
from tests.waiting import scaled, wait_until_async


def test_recent_events_hands_out_only_what_continues_from_the_follower() -> None:
    run = uuid.uuid4()
    recent = RecentEvents(keep=4)
    recent.publish(run, [Event(1, "metadata", "{}"), Event(2, "values", "1")])
    assert [e.seq for e in recent.after(run, 0)] == [1, 2]
    assert [e.seq for e in recent.after(run, 1)] == [2]
    assert recent.after(run, 2) == [], "nothing newer"
    recent.publish(run, [Event(3, "values", "2"), Event(4, "values", "3"), Event(5, "values", "4")])
    assert recent.after(run, 0) == [], "seq 1 was evicted (keep=4): the follower must read the database"
    assert [e.seq for e in recent.after(run, 1)] == [2, 3, 4, 5]
    recent.publish(run, [Event(9, "values", "8")])  # 6..8 were committed by someone else
    assert recent.after(run, 5) == [], "a gap is never papered over"
    assert [e.seq for e in recent.after(run, 8)] == [9]
    recent.forget(run)
    assert recent.after(run, 8) == []
    assert recent.after(uuid.uuid4(), 0) == []


async def test_a_notification_that_overtakes_its_publish_waits_for_it_only_while_the_run_is_written_here() -> None:
    run = uuid.uuid4()
    recent = RecentEvents()
    recent.open(run)
    # A waiter that waited out its (hour-long) timeout would fail the test's own deadline instead.
    hour, deadline = 3600.0, scaled(30)
    waiting = asyncio.create_task(recent.published_up_to(run, 2, timeout=hour))
    await asyncio.sleep(0)
    recent.publish(run, [Event(1, "values", "0"), Event(2, "values", "1")])
    assert await asyncio.wait_for(waiting, timeout=deadline)
    elsewhere = recent.published_up_to(uuid.uuid4(), 1, timeout=hour)
    assert not await asyncio.wait_for(elsewhere, timeout=deadline), "a run written elsewhere: read it"
    waiting = asyncio.create_task(recent.published_up_to(run, 3, timeout=hour))
    await asyncio.sleep(0)
    recent.done_writing(run)  # ended here, or handed to another process
    assert not await asyncio.wait_for(waiting, timeout=deadline), "nobody waits out the timeout"
    assert [e.seq for e in recent.after(run, 0)] == [1, 2], "what was published stays until forget()"


@pytest.fixture
async def notifier(database_url: str) -> AsyncIterator[Notifier]:
    notifier = Notifier(database_url)
    await notifier.start()
    yield notifier
    await notifier.stop()


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


async def _finish(pool: Pool, run_id: uuid.UUID, log: EventLog) -> None:
    """As the worker ends a run: the last events commit with the final status, in one statement."""
    final = await log.seal([("end", "{}")])
    async with pool.connection() as conn:
        assert await store.finish_run(conn, run_id, status="success", events=final)
    log.published(final)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    real = events_module.read_events

    async def counted(pool: Pool, run_id: uuid.UUID, *, after: int, **options: Any) -> tuple[list[Event], str | None]:
        reads.append(after)
        return await real(pool, run_id, after=after, **options)

    monkeypatch.setattr(events_module, "read_events", counted)
    return reads


async def _follow(pool: Pool, notifier: Notifier, run_id: uuid.UUID) -> list[Event]:
    return await _collect(follow_batches(pool, notifier, run_id, after=0, poll_s=5.0))


async def _append_one_at_a_time(log: EventLog, count: int, seen: Any) -> None:
    """Each event committed (and followed) before the next, as a graph's steps are."""
    for i in range(count):
        seq = await log.append("values", str(i))
        await wait_until_async(partial(seen, seq), what=f"event {seq} to reach the follower", interval=0.005)


async def test_a_follower_in_the_writing_process_does_not_read_back_its_batches(
    pool: Pool, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    reads = _counting_reads(monkeypatch)
    got: list[Event] = []
    follower = _following(follow_batches(pool, notifier, run_id, after=0, poll_s=5.0), got)
    log = EventLog(pool, run_id, next_seq=1, recent=notifier.recent)
    await _append_one_at_a_time(log, 12, lambda seq: bool(got) and got[-1].seq >= seq)
    await _finish(pool, run_id, log)
    await asyncio.wait_for(follower, timeout=scaled(30))

    assert [(e.seq, e.event) for e in got] == [(i + 1, "values") for i in range(12)] + [(13, "end")]
    # The log was opened before the follower's first look: everything comes from memory, `end` included.
    # Without RecentEvents this is 13 reads or more; before the log opened, the follower would read once.
    assert reads == []


async def test_the_stream_of_a_just_created_run_reads_nothing_before_its_first_notification(
    pool: Pool, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    reads = _counting_reads(monkeypatch)
    got: list[Event] = []
    follower = _following(follow_batches(pool, notifier, run_id, after=0, poll_s=scaled(30), created=True), got)
    await asyncio.sleep(0)  # it subscribes, finds nothing in memory, and waits for a notification
    assert reads == []
    # Another process starts the run (nothing of it in this process's memory): its notification wakes the follower.
    elsewhere = EventLog(pool, run_id, next_seq=1)
    await elsewhere.append("values", "0")
    await wait_until_async(lambda: bool(got), what="the first event to reach the follower")
    assert reads == [0], "one read, after the notification, not a read of the empty log before it"
    await _finish(pool, run_id, elsewhere)
    await asyncio.wait_for(follower, timeout=scaled(30))
    assert [e.event for e in got] == ["values", "end"]


async def test_a_notification_sent_before_the_stream_subscribed_still_wakes_it(pool: Pool, notifier: Notifier) -> None:
    run_id = await _new_run(pool)
    elsewhere = EventLog(pool, run_id, next_seq=1)
    await elsewhere.append("values", "0")
    await _finish(pool, run_id, elsewhere)
    # Give the notifications time to arrive before the stream subscribes (a quicker worker in another process).
    async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as probe:
        await asyncio.wait_for(probe.wait(), timeout=scaled(30))
    # With a poll of an hour, only the remembered notification can wake the stream in time.
    stream = follow_batches(pool, notifier, run_id, after=0, poll_s=3600, created=True)
    followed = await asyncio.wait_for(_collect(stream), timeout=scaled(30))
    assert [e.event for e in followed] == ["values", "end"]


async def _collect(batches: AsyncIterator[list[Event]]) -> list[Event]:
    return [event async for batch in batches for event in batch]


def _following(batches: AsyncIterator[list[Event]], got: list[Event]) -> asyncio.Task[None]:
    """A follower task adding each batch to `got` as it comes."""

    async def follow() -> None:
        async for batch in batches:
            got.extend(batch)

    return asyncio.create_task(follow())


async def test_events_written_by_another_process_still_reach_the_follower_in_order(
    pool: Pool, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    reads = _counting_reads(monkeypatch)
    follower = asyncio.create_task(_follow(pool, notifier, run_id))
    ours = EventLog(pool, run_id, next_seq=1, recent=notifier.recent)
    for i in range(3):
        await ours.append("values", f"ours {i}")
    await ours.close()
    # The run continues elsewhere (a retry in another process): nothing of it is in this process's memory.
    theirs = EventLog(pool, run_id, next_seq=4)
    for i in range(3):
        await theirs.append("values", f"theirs {i}")
    await _finish(pool, run_id, theirs)
    got = await asyncio.wait_for(follower, timeout=scaled(30))

    assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6, 7], "every event once, in order"
    assert [e.data for e in got[:6]] == [f"ours {i}" for i in range(3)] + [f"theirs {i}" for i in range(3)]
    assert reads, "the other process's events were read from the database"


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("messages", '[{"content":"héllo ","type":"AIMessageChunk"},{"langgraph_node":"model"}]'),
        ("values|parent:1a2b", "{}"),
        ("odd\nnode", '{"a":1}'),  # a line break anywhere takes sse-starlette's own encoder
        ("values", "line one\r\nline two"),
    ],
)
def test_an_sse_frame_is_what_sse_starlette_encodes(event: str, data: str) -> None:
    assert sse_frame(Event(42, event, data)) == ServerSentEvent(data=data, event=event, id="42").encode()


# Real time on purpose: the log batches by the clock. Wide margins keep it right on a machine whose every
# core is busy; the pause makes it slow.
BURST_S = scaled(3.0)


@pytest.mark.slow
async def test_quick_steps_share_a_write_and_the_first_event_after_a_pause_goes_at_once(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    log = EventLog(pool, run_id, next_seq=1, flush_s=5 * BURST_S, burst_s=BURST_S)
    writes = _counting_writes(log, monkeypatch)

    def written(count: int) -> bool:
        return len(writes) >= count

    await log.append("values", "0")
    # At once (well within burst_s): nothing was written before.
    await wait_until_async(lambda: written(1), timeout=0.8 * BURST_S, what="the first event to be written")
    for i in (1, 2, 3):  # within burst_s of that write: they wait for each other
        await log.append("values", str(i))
    await wait_until_async(lambda: written(2), what="the burst to be written")
    await asyncio.sleep(1.5 * BURST_S)  # a pause longer than burst_s
    await log.append("values", "4")
    await wait_until_async(lambda: written(3), timeout=0.8 * BURST_S, what="the event after the pause")
    await log.close()
    assert writes == [[1], [2, 3, 4], [5]]


async def test_metadata_shares_the_write_of_the_first_graph_event(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = await _new_run(pool)
    log = EventLog(pool, run_id, next_seq=1)
    writes = _counting_writes(log, monkeypatch)
    await log.append("metadata", "{}")
    await log.append("values", "0")  # the first graph event: written at once, with the metadata
    await wait_until_async(lambda: bool(writes), what="the first write")
    await log.close()
    assert writes == [[1, 2]]


async def test_events_still_waiting_when_the_run_ends_go_with_its_final_status(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    log = EventLog(pool, run_id, next_seq=1, flush_s=5 * BURST_S, burst_s=BURST_S)
    writes = _counting_writes(log, monkeypatch)
    await log.append("values", "0")
    await wait_until_async(lambda: bool(writes), what="the first event to be written")
    await log.append("values", "1")  # within burst_s of that write: it waits for company...
    await log.append("messages", "[]")  # ...and so does a token
    final = await log.seal([("end", "{}")])  # ...until the run ends
    assert writes == [[1]], "nothing written on its own after the first write"
    assert [(e.seq, e.event) for e in final] == [(2, "values"), (3, "messages"), (4, "end")]
    async with pool.connection() as conn:
        assert await store.finish_run(conn, run_id, status="success", events=final)
    events, status = await events_module.read_events(pool, run_id, after=0)
    assert ([e.data for e in events], status) == (["0", "1", "[]", "{}"], "success")


def _counting_writes(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    writes: list[list[int]] = []
    insert = log._insert

    async def counted(conn: Any, batch: list[Event]) -> None:
        writes.append([event.seq for event in batch])
        await insert(conn, batch)

    monkeypatch.setattr(log, "_insert", counted)
    return writes
