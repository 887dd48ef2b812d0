"""The LISTEN/NOTIFY hub: a cancel notified just before its worker subscribes still reaches it, and so does an
event-log notification sent before the stream of a just-created run subscribed."""

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
            await _notify(database_url, EVENTS_CHANNEL, f"{run_id} 3")
            await asyncio.wait_for(anything.wait(), timeout=scaled(30))  # both notifications have been delivered
            await asyncio.wait_for(events.wait(), timeout=scaled(30))
        # The worker subscribes only now (it claimed the run the moment the cancel was requested).
        async with notifier.subscribe(RUNS_CHANNEL, cancel_key(run_id)) as late:
            assert late.is_set(), "a recent cancel for this run wakes a subscriber that arrives after it"
        async with notifier.subscribe(RUNS_CHANNEL, cancel_key(uuid.uuid4())) as other:
            assert not other.is_set(), "another run's subscriber is not woken"
        # The stream of a run it just created waits for the first notification instead of reading the empty log
        # first: one sent before it subscribed (a worker elsewhere was quicker) wakes it, with what it announced.
        async with notifier.subscribe(EVENTS_CHANNEL, str(run_id)) as follower:
            assert follower.is_set(), "a recent notification of the run's events wakes a follower that arrives after it"
            assert follower.detail == "3"
        async with notifier.subscribe(EVENTS_CHANNEL, str(uuid.uuid4())) as stranger:
            assert not stranger.is_set(), "another run's follower is not woken"
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
