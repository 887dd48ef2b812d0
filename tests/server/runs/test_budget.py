"""Budgets that pause for a person (nodes/budget.py, server/runs/budget.py), through the official SDK against
`keel serve` behind API keys (tests/server/runs/approvers.py): alice asks and cannot decide, bob may decide.

KEEL_BUDGET_RUN allows 2 model calls per run; assistants override it with their metadata `budget`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.process import KeelProcess
from tests.server.observability.test_metrics import Samples, delta, scrape
from tests.server.runs.approvers import KEYS, TEAM, audit_rows, desk_behind_api_keys
from tests.server.runs.serving import human, values_of

pytestmark = pytest.mark.slow

REQUEST = "What is the billing status of cus_initech?"  # the supervisor, then the billing worker: 4 model calls
GUARDRAIL = "keel_guardrail_events_total"


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    folder = tmp_path_factory.mktemp("budget")
    env = {"KEEL_BUDGET_RUN": json.dumps({"model_calls": 2}), "KEEL_BUDGET_THREAD": "{}"}
    with desk_behind_api_keys(folder, pg_admin_url, migrated_template_db, env) as served:
        yield served


@asynccontextmanager
async def as_user(keel: KeelProcess, name: str) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=keel.base_url, api_key=KEYS[name]) as client:
        yield client


def budget_events(keel: KeelProcess) -> Samples:
    return scrape(keel.base_url)


def moved(before: Samples, after: Samples, action: str) -> float:
    return delta(before, after, GUARDRAIL, guardrail="budget", action=action)


async def pending(client: LangGraphClient, thread_id: str) -> list[dict[str, Any]]:
    return [dict(item) for item in (await client.threads.get_state(thread_id))["interrupts"]]


async def refused(call: Any, status: int) -> str:
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await call
    assert failed.value.response.status_code == status, failed.value.response.text
    return str(failed.value.response.json()["detail"])


async def last_run(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    runs = await client.runs.list(thread_id)
    return dict(runs[0])


async def test_a_budget_pauses_at_the_limit_extend_continues_and_stop_ends_with_an_answer(keel: KeelProcess):
    before = budget_events(keel)
    async with as_user(keel, "alice") as alice, as_user(keel, "bob") as bob:
        thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
        thread_id = str(thread["thread_id"])
        await alice.runs.wait(thread_id, "support", input=human(REQUEST))

        # At the limit: a budget interrupt with what was spent and what is left, before a third model call.
        [paused] = await pending(alice, thread_id)
        value = paused["value"]
        assert value["type"] == "budget"
        assert value["exceeded"] == [{"scope": "run", "limit": "model_calls", "max": 2, "spent": 2}]
        assert value["spent"]["run"]["model_calls"] == 2
        assert value["left"]["run"] == {"model_calls": 0}
        assert (value["permission"], value["requested_by"]) == ("approvals:decide", "alice")
        assert value["agent"] == "billing"  # paused before the billing worker's first model call
        first = await last_run(alice, thread_id)
        assert (first["status"], first["usage"]["model_calls"]) == ("interrupted", 2)

        # Invalid answers: 422 with the reason, nothing created.
        invalid = [
            {"type": "extend", "by": {"tokens": 100}},  # does not raise the limit reached
            {"type": "extend", "by": {"model_calls": 0}},
            {"type": "extend", "by": {"model_calls": 1.5}},
            {"type": "extend", "by": {"coffee": 1}},
            {"type": "accept"},
            {"type": "stop", "by": {"model_calls": 1}},
        ]
        for answer in invalid:
            await refused(bob.runs.wait(thread_id, "support", command={"resume": answer}), 422)
        # Without the approver permission: 403, still pending.
        await refused(alice.runs.wait(thread_id, "support", command={"resume": {"type": "stop"}}), 403)
        assert [item["id"] for item in await pending(alice, thread_id)] == [paused["id"]]
        assert len(await alice.runs.list(thread_id)) == 1
        assert audit_rows(keel.env["DATABASE_URL"], thread_id) == []
        # The inbox lists it for who may answer it, not for who may not.
        inbox = await bob.http.get("/approvals", params={"status": "pending", "limit": 100})
        [listed] = [item for item in inbox if item["interrupt_id"] == paused["id"]]
        assert (listed["tool"], listed["budget"]["exceeded"]) == ("budget", value["exceeded"])
        assert [
            item for item in await alice.http.get("/approvals", params={"limit": 100}) if item["tool"] == "budget"
        ] == []

        # Extend by one model call: exactly one more is made, then the extended limit pauses it again.
        extend = {"type": "extend", "by": {"model_calls": 1}}
        await bob.runs.wait(thread_id, "support", command={"resume": extend})
        [again] = await pending(bob, thread_id)
        assert again["id"] != paused["id"]
        assert again["value"]["exceeded"] == [{"scope": "run", "limit": "model_calls", "max": 3, "spent": 3}]
        second = await last_run(bob, thread_id)
        assert (second["status"], second["usage"]["model_calls"]) == ("interrupted", 1)

        # Stop: the run ends `success` with an answer, and asks nothing more.
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "stop", "reason": "enough"}})
        state = await bob.threads.get_state(thread_id)
        assert state["interrupts"] == [] and state["next"] == []
        answer = values_of(state)["messages"][-1]
        assert answer["type"] == "ai" and not answer.get("tool_calls") and answer["content"]
        third = await last_run(bob, thread_id)
        assert (third["status"], third["usage"]["model_calls"]) == ("success", 0)

        rows = audit_rows(keel.env["DATABASE_URL"], thread_id)
        assert [(r["tool"], r["decision"], r["final_args"], r["reason"], r["decider"]) for r in rows] == [
            ("budget", "extend", {"model_calls": 1}, None, "bob"),
            ("budget", "stop", None, "enough", "bob"),
        ]
        # Who started the run that asked: alice's first, bob's resume the second time.
        assert [r["requested_by"] for r in rows] == ["alice", "bob"]
        listed = await bob.http.get(f"/threads/{thread_id}/approvals")
        assert sorted(item["decision"] for item in listed) == ["extend", "stop"]

    after = budget_events(keel)
    # The spend in Prometheus: the model calls of the three runs, 2 + 1 + 0.
    assert delta(before, after, "keel_llm_calls_total", model="offline") == 3
    assert (moved(before, after, "paused"), moved(before, after, "extended"), moved(before, after, "stopped")) == (
        2,
        1,
        1,
    )


async def test_an_assistant_overrides_the_default_and_a_thread_limit_spans_runs(keel: KeelProcess):
    before = budget_events(keel)
    async with as_user(keel, "alice") as alice:
        # An assistant's metadata replaces a default limit: one model call, or none at all (null).
        one = await alice.assistants.create("support", metadata={"budget": {"run": {"model_calls": 1}}})
        thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
        await alice.runs.wait(thread["thread_id"], one["assistant_id"], input=human(REQUEST))
        [paused] = await pending(alice, str(thread["thread_id"]))
        assert paused["value"]["exceeded"] == [{"scope": "run", "limit": "model_calls", "max": 1, "spent": 1}]

        unlimited = await alice.assistants.create("support", metadata={"budget": {"run": {"model_calls": None}}})
        thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
        thread_id = str(thread["thread_id"])
        await alice.runs.wait(thread_id, unlimited["assistant_id"], input=human(REQUEST))
        first = await last_run(alice, thread_id)
        assert first["status"] == "success" and await pending(alice, thread_id) == []
        used = first["usage"]["model_calls"]
        assert used > 2

        # The thread's limit counts the earlier run: one more model call, then a pause naming the thread scope.
        limits = {"run": {"model_calls": None}, "thread": {"model_calls": used + 1}}
        capped = await alice.assistants.create("support", metadata={"budget": limits})
        await alice.runs.wait(thread_id, capped["assistant_id"], input=human(REQUEST))
        [paused] = await pending(alice, thread_id)
        spent = used + 1
        reached = {"scope": "thread", "limit": "model_calls", "max": spent, "spent": spent}
        assert paused["value"]["exceeded"] == [reached]
        assert paused["value"]["spent"]["thread"]["model_calls"] == spent
        assert paused["value"]["left"]["thread"] == {"model_calls": 0}
        assert (await last_run(alice, thread_id))["usage"]["model_calls"] == 1

        # An invalid assistant budget is refused when a run is created from it.
        bad = await alice.assistants.create("support", metadata={"budget": {"run": {"model_calls": -1}}})
        fresh = await alice.threads.create(metadata={"team": TEAM["alice"]})
        await refused(alice.runs.wait(fresh["thread_id"], bad["assistant_id"], input=human(REQUEST)), 422)
    after = budget_events(keel)
    assert (moved(before, after, "paused"), moved(before, after, "extended")) == (2, 0)
