"""The LISTEN/NOTIFY hub: a cancel notified just before its worker subscribes still reaches it."""

from __future__ import annotations

import asyncio
import uuid

import psycopg

from server.runs.notify import EVENTS_CHANNEL, RUNS_CHANNEL, Notifier, wait
from server.runs.store import cancel_key
from tests.waiting import scaled


async def _notify(url: str, channel: str, payload: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


async def test_a_cancel_notified_before_the_subscription_still_wakes_the_worker(database_url: str):
    notifier = Notifier(database_url)
    await notifier.start()
    try:
        run_id = uuid.uuid4()
        async with notifier.subscribe(RUNS_CHANNEL) as anything, notifier.subscribe(EVENTS_CHANNEL) as events:
            await _notify(database_url, RUNS_CHANNEL, cancel_key(run_id))
            await _notify(database_url, EVENTS_CHANNEL, str(run_id))
            await asyncio.wait_for(anything.wait(), timeout=scaled(30))  # both notifications have been delivered
            await asyncio.wait_for(events.wait(), timeout=scaled(30))
        # The worker subscribes only now (it claimed the run the moment the cancel was requested).
        async with notifier.subscribe(RUNS_CHANNEL, cancel_key(run_id)) as late:
            assert late.is_set(), "a recent cancel for this run wakes a subscriber that arrives after it"
        async with notifier.subscribe(RUNS_CHANNEL, cancel_key(uuid.uuid4())) as other:
            assert not other.is_set(), "another run's subscriber is not woken"
        async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as follower:
            assert not follower.is_set(), "event-log followers read the log anyway; no replayed wake-ups"
            await wait(follower, 0.05)
    finally:
        await notifier.stop()


async def test_a_payload_detail_reaches_the_subscribers_of_its_key(database_url: str):
    notifier = Notifier(database_url)
    await notifier.start()
    try:
        run_id = uuid.uuid4()
        async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as follower:
            await _notify(database_url, EVENTS_CHANNEL, f"{run_id} 7")
            assert await wait(follower, 5), "the key before the space selects the subscribers"
            assert follower.detail == "7"
            assert not await wait(follower, 0.05), "wait() says when it timed out"
    finally:
        await notifier.stop()
