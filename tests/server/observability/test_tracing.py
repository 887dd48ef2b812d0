"""One Langfuse trace per run, exported by the real Langfuse SDK from real keel processes to a local receiver:
an approval interrupt, its resume and a crash retry, all in one session (the thread)."""

from __future__ import annotations

import json
import signal
import uuid
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.server.observability.receiver import Receiver, Span
from tests.server.runs.cluster import Cluster
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow

REFUND = "Refund $49 of invoice inv_initech_2026_09 for cus_initech, they were double charged"


async def _wait_ended(cluster: Cluster, run_id: str) -> str:
    def ended() -> str | None:
        [(status,)] = cluster.query("SELECT status FROM keel.runs WHERE run_id = %s", run_id)
        return None if status in ("pending", "running") else str(status)

    return await wait_until_async(ended, what=f"run {run_id} to end", interval=0.1)


_META = "langfuse.trace.metadata."


async def test_interrupt_resume_and_crash_retry_are_one_trace_each_in_one_session(
    traced_cluster: Cluster, receiver: Receiver
):
    cluster = traced_cluster
    api = cluster.serve("api", "--no-worker")
    doomed = cluster.worker("doomed", size=2)
    thread_id = str(uuid.uuid4())
    async with get_client(url=api.base_url) as client:
        asked = await client.runs.create(
            thread_id,
            "support",
            input=_ask(REFUND),
            metadata={"user_id": "ops@example.com"},
            if_not_exists="create",
        )
        assert await _wait_ended(cluster, asked["run_id"]) == "interrupted"
        resumed = await client.runs.create(
            thread_id, "support", command={"resume": {"type": "accept"}}, metadata={"user_id": "ops@example.com"}
        )
        assert await _wait_ended(cluster, resumed["run_id"]) == "success"

        # The crash: the worker dies while node `two` of a `steps` run sleeps, after node `one`'s span left.
        crashed = await client.runs.create(thread_id, "steps", input={"delay": 1.2, "done": []})
        crash_trace = await _trace_id_once_claimed(client, thread_id, crashed["run_id"])
        receiver.wait_for(lambda r: any(s.name == "one" for s in r.traces().get(crash_trace, [])))
        doomed.stop(signal.SIGKILL)
        cluster.worker("successor", size=2)
        assert await _wait_ended(cluster, crashed["run_id"]) == "success"

        named = (("asked", asked), ("resumed", resumed), ("crashed", crashed))
        runs = {name: await _run(client, thread_id, run["run_id"]) for name, run in named}
        first_events = {}
        for name, run in runs.items():
            async for part in client.runs.join_stream(thread_id, run["run_id"]):
                first_events[name] = part
                break
    ids = {name: run["metadata"]["trace_id"] for name, run in runs.items()}
    assert len(set(ids.values())) == 3, "one trace per run"
    for name, run in runs.items():
        assert first_events[name].event == "metadata"
        assert first_events[name].data["trace_id"] == ids[name], "the SSE metadata event names the trace"
        assert run["metadata"]["trace_url"] == f"http://langfuse.example/trace/{ids[name]}"
    assert runs["resumed"]["metadata"]["resumed_from"] == asked["run_id"]
    assert "resumed_from" not in runs["asked"]["metadata"]

    # Wait for each run's root span (for the crashed run: that of its second attempt).
    receiver.wait_for(lambda r: all(_roots(r.traces().get(ids[n], [])) for n in ids))
    receiver.wait_for(lambda r: any(s.name == "three" for s in r.traces()[ids["crashed"]]))
    traces = receiver.traces()
    for name, run in runs.items():
        spans_of_run = [s for s in receiver.spans if s.attributes.get(_OBS + "run_id") == f'"{run["run_id"]}"']
        assert spans_of_run and {s.trace_id for s in spans_of_run} == {ids[name]}, f"{name}: spans outside its trace"
        for root in _roots(traces[ids[name]]):
            assert root.attributes["session.id"] == thread_id, "every trace is in the thread's session"
            assert root.attributes["langfuse.trace.name"] == ("steps" if name == "crashed" else "support")
            assert root.attributes[_META + "run_id"] == f'"{run["run_id"]}"'

    asked_spans, resumed_spans = traces[ids["asked"]], traces[ids["resumed"]]
    [asked_root] = _roots(asked_spans)
    assert asked_root.name == "support" and asked_root.attributes["user.id"] == "ops@example.com"
    assert asked_root.attributes["langfuse.trace.tags"] == ["support"]
    assert {"supervisor", "billing", "approval"} <= {s.name for s in asked_spans if s.kind in ("chain", "agent")}
    assert [s.name for s in asked_spans if s.kind == "tool"] == ["check_billing_status"]
    [resumed_root] = _roots(resumed_spans)
    assert resumed_root.attributes[_META + "resumed_from"] == f'"{asked["run_id"]}"'
    assert sorted(resumed_root.attributes["langfuse.trace.tags"]) == ["resume", "support"]
    assert [s.name for s in resumed_spans if s.kind == "tool"] == ["issue_refund"]
    for name, spans in (("asked", asked_spans), ("resumed", resumed_spans)):
        generations = [s for s in spans if s.kind == "generation"]
        assert generations and all(s.attributes["langfuse.observation.model.name"] == "offline" for s in generations)
        used = [json.loads(s.attributes["langfuse.observation.usage_details"]) for s in generations]
        usage = runs[name]["usage"]
        assert usage["input_tokens"] == sum(u["input"] for u in used) > 0, "the run's usage is what its LLM calls used"
        assert usage["output_tokens"] == sum(u["output"] for u in used) > 0
        assert usage["models"]["offline"]["cost"] == 0

    # The crash retry: attempt 1's finished node and attempt 2's nodes and root share the run's one trace.
    crashed_spans = traces[ids["crashed"]]
    by_attempt = {(s.name, s.attributes.get(_OBS + "attempt")) for s in crashed_spans}
    assert {("one", "1"), ("two", "2"), ("three", "2"), ("steps", "2")} <= by_attempt
    [retry_root] = _roots(crashed_spans, attempt="2")
    assert retry_root.attributes[_META + "attempt"] == "2"
    assert sorted(retry_root.attributes["langfuse.trace.tags"]) == ["retry", "steps"]
    assert runs["crashed"]["attempt"] == 2


_OBS = "langfuse.observation.metadata."


def _roots(spans: list[Span], attempt: str | None = None) -> list[Span]:
    """Root spans of a trace (one per attempt that finished), optionally of one attempt only."""
    roots = [s for s in spans if s.attributes.get("langfuse.internal.as_root")]
    return [s for s in roots if attempt is None or s.attributes.get(_META + "attempt") == attempt]


async def _run(client: Any, thread_id: str, run_id: str) -> dict[str, Any]:
    return dict(await client.runs.get(thread_id, run_id))


async def _trace_id_once_claimed(client: Any, thread_id: str, run_id: str) -> str:
    """A worker records the trace id on the run when it claims it."""

    async def trace_id() -> str | None:
        metadata = (await _run(client, thread_id, run_id))["metadata"]
        return str(metadata["trace_id"]) if "trace_id" in metadata else None

    return await wait_until_async(trace_id, what=f"run {run_id} to get a trace id")


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}
