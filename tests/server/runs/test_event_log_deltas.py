"""Large events (a run's `values`: the whole state at every step) are stored as differences from an earlier
event of the run, and read back exactly: from any event, and by a follower in another process.
(test_event_log_replay.py: the same through `keel serve`, byte for byte.)"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.db.pool import Pool
from server.runs import store
from server.runs.deltas import MAX_CHAIN, MIN_CHARS, Differ, common_prefix, rebuild
from server.runs.events import EventLog, follow_batches
from server.runs.notify import Notifier
from server.runs.store import events as stored_events
from tests.server.runs.test_event_log import _new_run
from tests.waiting import scaled, wait_until_async


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


async def test_after_a_lost_batch_nothing_stored_against_it_is_written(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await _new_run(pool)
    log = EventLog(pool, run_id, next_seq=1)

    async def lost(conn: Any, batch: Any) -> None:
        raise ConnectionError("the database went away mid-write")

    monkeypatch.setattr(log, "_insert", lost)
    text = _words(random.Random(11), 1000)
    await log.append("values", text)  # written in the background: the write fails there
    with pytest.raises(ConnectionError):
        await log.close()
    monkeypatch.undo()
    log.add("values", text + " more")  # stored against the lost event
    with pytest.raises(ConnectionError):
        await log.flush()
    events, _ = await store.read_events(pool, run_id, after=0)
    assert events == []


async def _collect(batches: AsyncIterator[list[Any]], into: list[str]) -> None:
    async for batch in batches:
        into.extend(event.data for event in batch)
