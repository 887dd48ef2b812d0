"""The resumed run's Langfuse trace records who decided: the decider is the trace's user, and each decision is an
event under the run's root span (exported by the real Langfuse SDK from real keel processes to a local receiver)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.server.observability.conftest import langfuse_env
from tests.server.observability.receiver import Receiver, Span
from tests.server.runs.approvers import KEYS, TEAM, api_keys_env, write_auth_config
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow

REFUND = "Refund $3 of invoice inv_tyrell_2026_11 for cus_tyrell"
_META = "langfuse.observation.metadata."


@pytest.fixture
def cluster(tmp_path: Path, database_url: str, receiver: Receiver) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, database_url, env=langfuse_env(receiver) | api_keys_env())
    write_auth_config(tmp_path, {"support": "graphs.support:build"})
    yield nodes
    nodes.stop_all()


def _roots(spans: list[Span]) -> list[Span]:
    return [s for s in spans if s.attributes.get("langfuse.internal.as_root")]


async def test_the_resumed_trace_has_the_decider_as_user_and_the_decision_as_an_event(
    cluster: Cluster, receiver: Receiver
):
    api = cluster.serve("api")
    async with (
        get_client(url=api.base_url, api_key=KEYS["alice"]) as alice,
        get_client(url=api.base_url, api_key=KEYS["bob"]) as bob,
    ):
        thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
        thread_id = str(thread["thread_id"])
        await alice.runs.wait(thread_id, "support", input=human(REFUND))
        [refund] = (await alice.threads.get_state(thread_id))["interrupts"]
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "accept"}})
        [resumed, asked] = await bob.runs.list(thread_id)
        trace_id = str((resumed["metadata"] or {})["trace_id"])
        asked_trace_id = str((asked["metadata"] or {})["trace_id"])

    def recorded(r: Receiver) -> bool:
        spans = r.traces().get(trace_id, [])
        return (
            bool(_roots(spans))
            and any(s.kind == "event" for s in spans)
            and bool(_roots(r.traces().get(asked_trace_id, [])))
        )

    receiver.wait_for(recorded)
    [asked_root] = _roots(receiver.traces()[asked_trace_id])
    assert asked_root.attributes["user.id"] == "alice"  # the run that asked: its authenticated creator
    spans = receiver.traces()[trace_id]
    roots = _roots(spans)
    assert len(roots) == 1, "the event is no root of its own (Langfuse would take its name for the trace's)"
    [root] = roots
    assert root.attributes["user.id"] == "bob"
    [event] = [s for s in spans if s.kind == "event"]
    assert event.name == "approval accept: issue_refund"
    assert event.parent_id == root.span_id
    meta = {
        key.removeprefix(_META): json.loads(value) for key, value in event.attributes.items() if key.startswith(_META)
    }
    assert (meta["interrupt_id"], meta["decider"], meta["decider_name"], meta["requested_by"]) == (
        refund["id"],
        "bob",
        "Bob",
        "alice",
    )
    answer = json.loads(event.attributes["langfuse.observation.input"])
    assert answer["decision"] == "accept" and answer["final_args"] == refund["value"]["args"]
