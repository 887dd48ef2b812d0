"""The eval runner's scheduling, streaming and effect counting, without a keel: attempts sharing a customer never run
at once, a stream that closes without `end` is rejoined after its last event (never created twice), and duplicated
effects are the rows beyond the distinct successful writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import RunCreateMetadata, StreamPart

from evals import desk
from evals.dataset import Task
from evals.records import Observed
from evals.runner import CustomerLocks, _Attempt, _Recorder, _stream_run


def _task(task_id: str, customers: list[str]) -> Task:
    return Task.model_validate(
        {"id": task_id, "graph": "support", "category": "c", "customers": customers, "messages": ["hi"],
         "expect": {}, "rubric": "r"}
    )  # fmt: skip


async def test_attempts_sharing_a_customer_never_run_at_once() -> None:
    tasks = [_task("a1", ["cus_a"]), _task("a2", ["cus_a", "cus_b"]), _task("b", ["cus_b"]), _task("c", ["cus_c"])]
    tasks.append(_task("all", []))  # names no customer: runs alone
    locks = CustomerLocks(["cus_a", "cus_b", "cus_c"])
    pending = [_Attempt(task, k) for k in range(3) for task in tasks]
    running: list[Task] = []
    overlaps: list[tuple[str, str]] = []

    async def lane() -> None:
        while (item := await locks.take(pending)) is not None:
            for other in running:
                shared = set(locks.customers(other)) & set(locks.customers(item.task))
                if shared:
                    overlaps.append((other.id, item.task.id))
            running.append(item.task)
            for _ in range(3):  # let the other lanes take what they can meanwhile
                await asyncio.sleep(0)
            running.remove(item.task)
            await locks.give_back(item.task)

    await asyncio.wait_for(asyncio.gather(*(lane() for _ in range(4))), timeout=10)
    assert overlaps == []
    assert pending == []


def test_duplicated_effects_are_rows_beyond_the_distinct_successful_writes() -> None:
    writes = [("issue_refund", "call_1"), ("issue_refund", "call_1"), ("lookup_customer", "call_2")]
    assert desk.duplicated({"refunds": 1}, writes) == 0
    assert desk.duplicated({"refunds": 2}, writes) == 1
    assert desk.duplicated({"workspaces": 1}, []) == 1


class _Runs:
    """langgraph-sdk's `client.runs`, answering as keel does when a database outage outlasted a run's stream: the
    create's stream closes after two events without `end` (the run ended meanwhile, so the SDK did not reconnect)."""

    def __init__(self) -> None:
        self.creates = 0
        self.joins: list[str | None] = []
        self.update = {"agent": {"messages": [{"type": "ai", "content": "hello", "id": "m1"}]}}

    async def stream(
        self,
        thread_id: str,
        _assistant_id: str,
        *,
        on_run_created: Callable[[RunCreateMetadata], None] | None = None,
        **_: Any,
    ) -> AsyncIterator[StreamPart]:
        self.creates += 1
        if on_run_created is not None:
            on_run_created({"run_id": "run-1", "thread_id": thread_id})
        yield StreamPart("metadata", {"run_id": "run-1"}, "1")
        yield StreamPart("updates", self.update, "2")

    async def join_stream(
        self, _thread_id: str, run_id: str, *, last_event_id: str | None, **_: Any
    ) -> AsyncIterator[StreamPart]:
        self.joins.append(last_event_id)
        yield StreamPart("updates", {"tools": {"messages": []}}, "3")
        yield StreamPart("end", {"run_id": run_id, "status": "success"}, "4")

    async def get(self, _thread_id: str, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, "status": "success"}


async def test_a_stream_closed_without_end_is_rejoined_after_its_last_event() -> None:
    runs = _Runs()
    client = cast(LangGraphClient, type("Client", (), {"runs": runs})())
    observed = Observed(task_id="t", repeat=0, thread_id="th")
    await asyncio.wait_for(_stream_run(client, "th", "support", _Recorder(observed), input={}), timeout=10)
    assert runs.creates == 1  # never a second run for one request
    assert runs.joins == ["2"]
    assert [step.node for step in observed.steps] == ["agent", "tools"]
    assert [(run.run_id, run.status) for run in observed.runs] == [("run-1", "success")]
