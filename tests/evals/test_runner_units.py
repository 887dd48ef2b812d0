"""The eval runner's scheduling and effect counting, without a keel: attempts sharing a customer never run at once,
and duplicated effects are the rows beyond the distinct successful writes."""

from __future__ import annotations

import asyncio

from evals import desk
from evals.dataset import Task
from evals.runner import CustomerLocks, _Attempt


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
