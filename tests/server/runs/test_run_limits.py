"""Run limits per identity (issue 14, item 5): runs created per minute and active runs, over the limit a 429 with
`Retry-After` and nothing created, counted in PostgreSQL so that two API processes share the counts.

API-only processes (no worker): every run created stays pending, so the active count is exactly what was created.
Without auth every caller is the one anonymous identity, and the limits apply only when set; with keel's API keys
each key's identity has its own counts.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import RateLimitError

from server.auth.api_keys import hash_key
from tests.server.runs.cluster import Cluster
from tests.waiting import scaled, wait_until

pytestmark = pytest.mark.slow  # keel runs as child processes

INPUT: dict[str, Any] = {"messages": [{"role": "human", "content": "hi"}]}
RUN = {"assistant_id": "echo", "input": INPUT}

# --- over the limit, over HTTP --------------------------------------------------------------------------------------


def counts(cluster: Cluster) -> tuple[int, int]:
    """(runs, threads) in the database."""
    [(runs, threads)] = cluster.query("SELECT (SELECT count(*) FROM keel.runs), (SELECT count(*) FROM keel.threads)")
    return int(runs), int(threads)


def assert_refused(response: httpx.Response, setting: str, *, retry_after: range) -> None:
    assert response.status_code == 429, response.text
    assert setting in response.json()["detail"]
    assert int(response.headers["retry-after"]) in retry_after


def minute_with_room(cluster: Cluster, seconds: float = 20) -> float:
    """Wait until the database's current minute has `seconds` left: a per-minute test must not straddle two
    minutes (each starts its count again). Returns the epoch of that minute."""

    def room() -> float | None:
        [(minute, left)] = cluster.query(
            "SELECT extract(epoch FROM date_trunc('minute', now())), 60 - extract(second FROM now())"
        )
        return float(minute) if float(left) >= seconds else None

    return wait_until(room, timeout=scaled(70), what="a minute with room left")


def same_minute(cluster: Cluster, minute: float) -> None:
    [(now,)] = cluster.query("SELECT extract(epoch FROM date_trunc('minute', now()))")
    assert float(now) == minute, "the test took longer than the room it waited for: it straddled two minutes"


async def test_over_the_active_limit_every_run_creating_path_answers_429_and_creates_nothing(cluster: Cluster):
    keel = cluster.serve("api", "--no-worker", KEEL_RUN_LIMIT_ACTIVE="1")
    async with httpx.AsyncClient(base_url=keel.base_url, timeout=30) as http:
        thread_id = (await http.post("/threads", json={})).json()["thread_id"]
        first = await http.post(f"/threads/{thread_id}/runs", json=RUN)
        assert first.status_code == 200, first.text
        assert counts(cluster) == (1, 1)

        fresh = str(uuid.uuid4())
        attempts = {
            "background": ("/runs", RUN),
            "stream": ("/runs/stream", RUN),
            "wait": ("/runs/wait", RUN),
            "batch": ("/runs/batch", [RUN]),
            "thread background": (f"/threads/{thread_id}/runs", RUN),
            "thread stream": (f"/threads/{thread_id}/runs/stream", RUN),
            "thread wait": (f"/threads/{thread_id}/runs/wait", RUN),
            "reject strategy": (f"/threads/{thread_id}/runs", {**RUN, "multitask_strategy": "reject"}),
            "interrupt strategy": (f"/threads/{thread_id}/runs", {**RUN, "multitask_strategy": "interrupt"}),
            "new thread": (f"/threads/{fresh}/runs", {**RUN, "if_not_exists": "create"}),
            "new thread, reject": (
                f"/threads/{fresh}/runs",
                {**RUN, "if_not_exists": "create", "multitask_strategy": "reject"},
            ),
        }
        for name, (path, body) in attempts.items():
            response = await http.post(path, json=body)
            assert response.status_code == 429, (name, response.status_code, response.text)
            assert_refused(response, "KEEL_RUN_LIMIT_ACTIVE", retry_after=range(1, 61))
            assert "the anonymous caller" in response.json()["detail"]
        assert counts(cluster) == (1, 1), "no run and no thread was created"
        assert (await http.get(f"/threads/{fresh}")).status_code == 404
        [(status,)] = cluster.query("SELECT status FROM keel.runs")
        assert status == "pending", "a refused interrupt strategy cancelled nothing"

        await http.post(f"/threads/{thread_id}/runs/{first.json()['run_id']}/cancel")
        assert (await http.post("/runs", json=RUN)).status_code == 200, "an ended run frees its place"


async def test_a_batch_is_created_whole_or_not_at_all(cluster: Cluster):
    keel = cluster.serve("api", "--no-worker", KEEL_RUN_LIMIT_ACTIVE="3")
    async with httpx.AsyncClient(base_url=keel.base_url, timeout=30) as http:
        assert (await http.post("/runs", json=RUN)).status_code == 200
        refused = await http.post("/runs/batch", json=[RUN, RUN, RUN])
        assert_refused(refused, "KEEL_RUN_LIMIT_ACTIVE", retry_after=range(1, 61))
        assert counts(cluster) == (1, 1), "the runs before the refused one were not kept"
        created = await http.post("/runs/batch", json=[RUN, RUN])
        assert created.status_code == 200, created.text
        assert len(created.json()) == 2 and counts(cluster) == (3, 3)


async def test_the_per_minute_limit_answers_with_the_seconds_left_in_the_minute(cluster: Cluster):
    keel = cluster.serve("api", "--no-worker", KEEL_RUN_LIMIT_PER_MINUTE="2")
    minute = minute_with_room(cluster)
    async with httpx.AsyncClient(base_url=keel.base_url, timeout=30) as http:
        for _ in range(2):
            assert (await http.post("/runs", json=RUN)).status_code == 200
        refused = await http.post("/runs/wait", json=RUN)
        [(left,)] = cluster.query("SELECT 60 - extract(second FROM now())")
    same_minute(cluster, minute)
    assert_refused(refused, "KEEL_RUN_LIMIT_PER_MINUTE", retry_after=range(1, 61))
    assert abs(int(refused.headers["retry-after"]) - float(left)) <= 2, "the seconds until the minute ends"
    assert "has created 2 runs this minute" in refused.json()["detail"]
    assert counts(cluster) == (2, 2)


# --- two API processes, one database ---------------------------------------------------------------------------------


async def create_at_once(urls: list[str], total: int) -> list[httpx.Response]:
    """`total` stateless runs created at the same time, spread over the processes at `urls`."""
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]
    try:
        return list(await asyncio.gather(*(clients[i % len(clients)].post("/runs", json=RUN) for i in range(total))))
    finally:
        for client in clients:
            await client.aclose()


async def test_two_api_processes_share_the_active_limit(cluster: Cluster):
    first = cluster.serve("api-1", "--no-worker", KEEL_RUN_LIMIT_ACTIVE="4")
    second = cluster.serve("api-2", "--no-worker", KEEL_RUN_LIMIT_ACTIVE="4")
    answers = await create_at_once([first.base_url, second.base_url], 12)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 4 + [429] * 8, [answer.text for answer in answers]
    for refused in (answer for answer in answers if answer.status_code == 429):
        assert_refused(refused, "KEEL_RUN_LIMIT_ACTIVE", retry_after=range(1, 61))
    assert counts(cluster) == (4, 4)


async def test_two_api_processes_share_the_per_minute_count(cluster: Cluster):
    first = cluster.serve("api-1", "--no-worker", KEEL_RUN_LIMIT_PER_MINUTE="5")
    second = cluster.serve("api-2", "--no-worker", KEEL_RUN_LIMIT_PER_MINUTE="5")
    minute = minute_with_room(cluster)
    answers = await create_at_once([first.base_url, second.base_url], 12)
    same_minute(cluster, minute)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 5 + [429] * 7, [answer.text for answer in answers]
    for refused in (answer for answer in answers if answer.status_code == 429):
        assert_refused(refused, "KEEL_RUN_LIMIT_PER_MINUTE", retry_after=range(1, 61))
    assert counts(cluster) == (5, 5)
    [(created,)] = cluster.query("SELECT created FROM keel.run_rate WHERE identity = ''")
    assert created == 5, "refused creates took their count back"


# --- identities: each its own counts, a permission's own limits ------------------------------------------------------

ALICE_KEY, BOB_KEY = "alice-key-for-the-limits-test", "bob-key-for-the-limits-test"


def with_api_keys(cluster: Cluster) -> dict[str, str]:
    """The cluster's langgraph.json behind keel's API-key authenticator: alice (no permission) and bob
    (`runs:bulk`); returns the environment that configures them and their limits."""
    config = json.loads(cluster.config.read_text())
    cluster.config.write_text(json.dumps({**config, "auth": {"path": "server.auth.api_keys:auth"}}))
    keys = {
        hash_key(ALICE_KEY): {"identity": "alice"},
        hash_key(BOB_KEY): {"identity": "bob", "permissions": ["runs:bulk"]},
    }
    return {
        "KEEL_API_KEYS": json.dumps(keys),
        "KEEL_RUN_LIMIT_ACTIVE": "2",
        "KEEL_RUN_LIMITS_BY_PERMISSION": json.dumps({"runs:bulk": {"active": 5}}),
    }


async def sdk_create_at_once(urls: list[str], key: str, total: int) -> list[BaseException | None]:
    """`total` stateless runs created through the official SDK at the same time, spread over `urls`; each
    outcome is None (created) or the error it raised."""
    clients = [get_client(url=url, api_key=key) for url in urls]

    async def create(index: int) -> None:
        await clients[index % len(clients)].runs.create(None, "echo", input=INPUT)

    try:
        outcomes = await asyncio.gather(*(create(i) for i in range(total)), return_exceptions=True)
    finally:
        for client in clients:
            await client.aclose()
    return [outcome if isinstance(outcome, BaseException) else None for outcome in outcomes]


async def test_each_identity_has_its_own_counts_and_a_permission_its_own_limit(cluster: Cluster):
    cluster.base_env.update(with_api_keys(cluster))
    first = cluster.api("api-1")
    second = cluster.api("api-2")
    urls = [first.base_url, second.base_url]

    alice = await sdk_create_at_once(urls, ALICE_KEY, 6)
    bob = await sdk_create_at_once(urls, BOB_KEY, 8)

    for outcomes, created, setting, who in [
        (alice, 2, "KEEL_RUN_LIMIT_ACTIVE", "identity 'alice'"),
        (bob, 5, "KEEL_RUN_LIMITS_BY_PERMISSION for permission 'runs:bulk'", "identity 'bob'"),
    ]:
        refused = [outcome for outcome in outcomes if outcome is not None]
        assert len(refused) == len(outcomes) - created, refused
        for error in refused:
            assert isinstance(error, RateLimitError), error
            assert_refused(error.response, setting, retry_after=range(1, 61))
            assert who in error.response.json()["detail"]
    creators = cluster.query(
        """SELECT kwargs #>> '{config,configurable,langgraph_auth_user_id}', count(*) FROM keel.runs
           GROUP BY 1 ORDER BY 1"""
    )
    assert creators == [("alice", 2), ("bob", 5)]
    assert counts(cluster) == (7, 7), "a refused run made no thread"
