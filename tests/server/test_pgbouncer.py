"""keel through PgBouncer in transaction mode: an API process and a worker process whose pools reach PostgreSQL only
through the pooler (DATABASE_URL), with KEEL_DIRECT_DATABASE_URL for LISTEN and the migration lock, and prepared
statements off (KEEL_DB_PREPARE_THRESHOLD=0). Runs, streams and an interrupt resumed with a command all complete.

KEEL_RUN_POLL is a minute: a worker that learns of new runs, or a stream that learns of new events, only by polling
would miss the test's deadlines, so passing shows that notifications arrive (a LISTEN through the pooler gets none).

Skipped when pgbouncer is not installed; under CI=true that fails instead (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client

from tests.pg import scratch_database
from tests.pgbouncer import pgbouncer_path, transaction_pooler
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.waiting import scaled

pytestmark = pytest.mark.slow

DEADLINE_S = scaled(30)  # far below KEEL_RUN_POLL


@pytest.fixture
def pooled_cluster(tmp_path: Path, pg_admin_url: str, migrated_template_db: str) -> Iterator[tuple[Cluster, str]]:
    """(an API-only keel and a worker on one database through PgBouncer, the direct URL of that database)."""
    if pgbouncer_path() is None:
        why = "pgbouncer is not installed (Debian package `pgbouncer`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)
    with (
        transaction_pooler(pg_admin_url) as through,
        scratch_database(pg_admin_url, template=migrated_template_db) as url,
    ):
        env = {"KEEL_DIRECT_DATABASE_URL": url, "KEEL_DB_PREPARE_THRESHOLD": "0", "KEEL_RUN_POLL": "60"}
        cluster = Cluster(tmp_path, through(url), env=env)
        try:
            cluster.api("api")
            cluster.worker("worker", size=4)
            yield cluster, url
        finally:
            cluster.stop_all()


def _pooled_connections(url: str) -> int:
    """Server connections PgBouncer holds to this database (their application_name is empty; keel's are named)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_runs_streams_and_resume_through_pgbouncer(pooled_cluster: tuple[Cluster, str]):
    cluster, url = pooled_cluster
    api = cluster.procs[0]
    async with get_client(url=api.base_url) as client:

        async def echo(text: str) -> Any:
            thread = await client.threads.create()
            return await client.runs.wait(thread["thread_id"], "echo", input=human(text))

        # Several runs at once, each claimed by the worker process (woken by NOTIFY through the direct connection).
        results = await asyncio.wait_for(asyncio.gather(*(echo(f"hi {n}") for n in range(8))), DEADLINE_S)
        assert [r["messages"][-1]["content"] for r in results] == [f"you said hi {n} and that is all" for n in range(8)]

        # A stream from the API process follows events the worker appends.
        thread_id = str(uuid.uuid4())
        stream = client.runs.stream(
            thread_id, "echo", input=human("again"), stream_mode=["values", "updates"], if_not_exists="create"
        )
        parts = await asyncio.wait_for(_collect(stream), DEADLINE_S)
        events = [p.event for p in parts]
        assert events[0] == "metadata" and "values" in events and "updates" in events, events
        last_values = [p.data for p in parts if p.event == "values"][-1]
        assert last_values["messages"][-1]["content"] == "you said again and that is all"
        ids = [int(p.id) for p in parts if p.id is not None]
        assert ids == sorted(set(ids))

        # An interrupt, resumed with a command, streamed.
        asked = str(uuid.uuid4())
        first = await asyncio.wait_for(
            client.runs.wait(asked, "ask", input={"question": "ship it?"}, if_not_exists="create"), DEADLINE_S
        )
        assert isinstance(first, dict)
        assert first["__interrupt__"][0]["value"] == {"question": "ship it?"}
        resumed = await asyncio.wait_for(
            _collect(client.runs.stream(asked, "ask", command={"resume": "yes"}, stream_mode="values")), DEADLINE_S
        )
        assert resumed[-2].data == {"question": "ship it?", "answer": "answer: yes"}
        assert resumed[-1].data["status"] == "success"
        state = await client.threads.get_state(asked)
        assert state["values"] == {"question": "ship it?", "answer": "answer: yes"}

    # Every statement went through the pooler: PostgreSQL saw at most its pool plus the two LISTEN sessions.
    assert _pooled_connections(url) <= 40 + 2
    assert cluster.query("SELECT count(*) FROM keel.runs WHERE status = 'success'") == [(8 + 1 + 1,)]


async def _collect(stream: Any) -> list[Any]:
    return [part async for part in stream]
