"""keel's own onboarding graph over HTTP with the official SDK: live sub-graph streaming, the approval
interrupt in the thread state, resume, history, and a fork from an earlier checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client

from tests.process import REPO, KeelProcess
from tests.server.runs.serving import human, values_of

pytestmark = pytest.mark.slow  # keel runs as a child process

REQUEST = 'Onboard Globex (cus_globex): create workspace "Globex Analytics" and email the admin a welcome note'


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[KeelProcess]:
    proc = KeelProcess(
        ["serve"],
        env={"DATABASE_URL": database_url, "KEEL_CONFIG": str(REPO / "langgraph.json")},
        cwd=tmp_path,
        log=tmp_path / "keel.log",
    )
    proc.wait_ready()
    yield proc
    proc.stop()


def _outbox(keel: KeelProcess) -> int:
    with psycopg.connect(keel.env["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT count(*) FROM desk.outbox WHERE customer_id = 'cus_globex'").fetchone()
    assert row is not None
    return int(row[0])


async def test_onboarding_streams_interrupts_resumes_and_forks(keel: KeelProcess):
    async with get_client(url=keel.base_url) as client, get_client(url=keel.base_url) as observer:
        thread = await client.threads.create(metadata={"purpose": "onboarding"})
        thread_id = thread["thread_id"]
        parts: list[Any] = []
        status_at_first_event = None
        started = time.monotonic()
        async for part in client.runs.stream(
            thread_id,
            "onboarding",
            input=human(REQUEST),
            stream_mode=["updates", "messages-tuple", "values"],
            stream_subgraphs=True,
        ):
            if part.event != "metadata" and status_at_first_event is None:
                run_id = parts[0][1].data["run_id"]
                status_at_first_event = (await observer.runs.get(thread_id, run_id))["status"]
            parts.append((time.monotonic() - started, part))
        events = [part.event for _, part in parts]
        run_id = parts[0][1].data["run_id"]

        # Streamed live, with namespaces from inside the sub-graphs.
        assert status_at_first_event == "running", "the first event arrived while the run was still going"
        assert any(e.startswith("updates|enterprise_setup:") for e in events)
        assert any(e.startswith("messages|") for e in events), "tokens from inside sub-graphs carry their namespace"
        inner_updates = {node for _, p in parts if p.event.startswith("updates|enterprise_setup:") for node in p.data}
        assert {"billing_check", "permissions_check", "contract_check", "planner", "executor"} <= inner_updates
        assert events[-1] == "end" and parts[-1][1].data["status"] == "interrupted", (
            events[-5:],
            keel.output()[-3000:],
        )

        # The approval interrupt is in the thread state.
        assert (await client.runs.get(thread_id, run_id))["status"] == "interrupted", (
            events[-6:],
            keel.output()[-4000:],
        )
        assert (await client.threads.get(thread_id))["status"] == "interrupted"
        state = await client.threads.get_state(thread_id, subgraphs=True)
        [pending] = state["interrupts"]
        assert pending["value"]["tool"] == "send_external_message" and pending["value"]["agent"] == "executor"
        interrupted_checkpoint = state["checkpoint"]["checkpoint_id"]
        assert _outbox(keel) == 0

        # Resume with accept: the email is sent once and the run finishes.
        resumed = [
            p
            async for p in client.runs.stream(
                thread_id, "onboarding", command={"resume": {"type": "accept"}}, stream_mode="values"
            )
        ]
        assert resumed[-1].event == "end" and resumed[-1].data["status"] == "success"
        assert _outbox(keel) == 1
        accepted = await client.threads.get_state(thread_id)
        assert accepted["next"] == [] and (await client.threads.get(thread_id))["status"] == "idle"

        # History lists every checkpoint of the thread (root namespace).
        history = await client.threads.get_history(thread_id, limit=1000)
        with psycopg.connect(keel.env["DATABASE_URL"]) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''", (thread_id,)
            ).fetchone()
        assert stored is not None and len(history) == stored[0] >= 4
        assert interrupted_checkpoint in {h["checkpoint"]["checkpoint_id"] for h in history}

        # Fork: a new run from the first checkpoint, with another request. A new branch; the old one stays.
        first = history[-1]
        assert values_of(first)["messages"] == [] and first["next"] == ["__start__"]
        forked = await client.runs.wait(
            thread_id,
            "onboarding",
            input=human("Hello there"),
            checkpoint_id=first["checkpoint"]["checkpoint_id"],
        )
        assert isinstance(forked, dict)
        assert forked["messages"][0]["type"] == "human"
        assert forked["messages"][0]["content"] == "Hello there" and len(forked["messages"]) == 2
        assert _outbox(keel) == 1, "the new branch sent nothing"
        latest = await client.threads.get_state(thread_id)
        assert values_of(latest)["messages"] == forked["messages"]
        old = await client.threads.get_state(thread_id, checkpoint_id=accepted["checkpoint"]["checkpoint_id"])
        assert values_of(old)["messages"] == values_of(accepted)["messages"], "the accepted branch is untouched"
        assert len(await client.threads.get_history(thread_id, limit=1000)) > len(history)
