"""A looping request through the official SDK against `keel serve`: the support graph's model is an OpenAI-compatible
stub scripted to ask for the same look-up forever (tests/openai_stub.py). The run ends normally with an answer that
explains the stop; the look-up ran as often as the run's context allows and no more; the `no_progress` guardrail
counter moved by exactly one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.openai_stub import OpenAIStub, Reply, running_stub
from tests.pg import scratch_database
from tests.process import KeelProcess
from tests.server.observability.test_metrics import delta, scrape
from tests.server.runs.serving import human, values_of

pytestmark = pytest.mark.slow

LOOKUP = ("lookup_customer", {"query": "cus_acme"})


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with running_stub() as running:
        running.default = Reply(tool_calls=[LOOKUP])  # every model turn asks for the same look-up again
        yield running


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str, stub: OpenAIStub
) -> Iterator[KeelProcess]:
    folder = tmp_path_factory.mktemp("no-progress")
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"support": "graphs.support:build"}}))
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        env = {
            "DATABASE_URL": url,
            "KEEL_CONFIG": str(config),
            "KEEL_RUN_POLL": "0.5",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": stub.base_url,
            "KEEL_MODEL": "stub-loop",
        }
        served = KeelProcess(["serve"], env=env, cwd=folder, log=folder / "keel.log")
        try:
            served.wait_ready()
            yield served
        finally:
            served.stop()


def lookups(messages: list[dict[str, Any]]) -> list[str]:
    return [m["status"] for m in messages if m["type"] == "tool" and m["name"] == "lookup_customer"]


async def test_a_looping_request_stops_with_the_explanation(keel: KeelProcess, stub: OpenAIStub) -> None:
    before, asked = scrape(keel.base_url), len(stub.received)
    async with get_client(url=keel.base_url) as client:
        thread = await client.threads.create()
        thread_id = thread["thread_id"]
        await client.runs.wait(thread_id, "support", input=human("Who is cus_acme?"), context={"max_repeated_calls": 2})
        [run] = await client.runs.list(thread_id)
        messages = values_of(await client.threads.get_state(thread_id))["messages"]
    assert run["status"] == "success"
    assert lookups(messages) == ["success", "success", "error"]  # run twice; the third ask was refused, not run
    answer = messages[-1]
    assert answer["type"] == "ai" and not answer.get("tool_calls")
    assert answer["response_metadata"] == {"guardrail": "no_progress", "reason": "repeated_call"}
    assert "lookup_customer" in answer["content"]
    assert len(stub.received) - asked == 3  # the stop needed no model call
    after = scrape(keel.base_url)
    assert delta(before, after, "keel_guardrail_events_total", guardrail="no_progress", action="stopped") == 1


async def test_an_assistant_sets_the_limit_for_its_runs(keel: KeelProcess) -> None:
    before = scrape(keel.base_url)
    async with get_client(url=keel.base_url) as client:
        assistant = await client.assistants.create("support", context={"max_repeated_calls": 1})
        thread = await client.threads.create()
        await client.runs.wait(thread["thread_id"], assistant["assistant_id"], input=human("Who is cus_acme?"))
        messages = values_of(await client.threads.get_state(thread["thread_id"]))["messages"]
    assert lookups(messages) == ["success", "error"]
    assert messages[-1]["response_metadata"]["guardrail"] == "no_progress"
    after = scrape(keel.base_url)
    assert delta(before, after, "keel_guardrail_events_total", guardrail="no_progress", action="stopped") == 1
