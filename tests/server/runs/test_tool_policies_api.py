"""Tool-argument policies and the configured two-person amount, through the official SDK against `keel serve` with
API-key identities (tests/server/runs/approvers.py) and KEEL_TWO_PERSON_REFUND_USD=100:

- a refund above what is left on the invoice is refused before any approval: no interrupt, the billing agent got
  the reason as the tool's error, no refund row, no audit row, `tool_policy` counted exactly once;
- a $150 refund is two-person (it would not be under the default $1,000): 403 for the requester, another identity
  approves it; an edit from $50 to $150 is two-person too (the server checks edits with the same amount)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Command

from tests.process import KeelProcess
from tests.server.observability.test_metrics import delta, scrape
from tests.server.runs.approvers import KEYS, TEAM, audit_rows, desk_behind_api_keys, effects
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow

OVER_REMAINING = "Refund $500 of invoice inv_acme_2026_11 for cus_acme"  # the invoice is $199
REFUND = "Refund ${amount} of invoice inv_globex_2026_q4 for cus_globex"  # a $60,000 invoice


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    folder = tmp_path_factory.mktemp("policies")
    env = {"KEEL_TWO_PERSON_REFUND_USD": "100"}
    with desk_behind_api_keys(folder, pg_admin_url, migrated_template_db, env=env) as served:
        yield served


@asynccontextmanager
async def as_user(keel: KeelProcess, name: str) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=keel.base_url, api_key=KEYS[name]) as client:
        yield client


async def ask(client: LangGraphClient, request: str, team: str) -> tuple[str, list[dict[str, Any]]]:
    """A new thread of `team` running `request` to its end or its approval; the tool messages of every agent."""
    thread = await client.threads.create(metadata={"team": team})
    tools: list[dict[str, Any]] = []
    async for part in client.runs.stream(
        thread["thread_id"], "support", input=human(request), stream_mode="updates", stream_subgraphs=True
    ):
        if part.event.startswith("updates") and isinstance(part.data, dict):
            for update in part.data.values():
                if isinstance(update, dict):
                    tools += [m for m in update.get("messages", []) if m.get("type") == "tool"]
    return str(thread["thread_id"]), tools


def policy_refusals(before: Any, after: Any) -> float:
    return delta(before, after, "keel_guardrail_events_total", guardrail="tool_policy", action="refused")


async def test_a_refund_above_what_is_left_is_refused_before_any_approval(keel: KeelProcess) -> None:
    url = keel.env["DATABASE_URL"]
    before, desk = scrape(keel.base_url), effects(url)
    async with as_user(keel, "alice") as alice:
        thread_id, tools = await ask(alice, OVER_REMAINING, TEAM["alice"])
        state = await alice.threads.get_state(thread_id)
        [run] = await alice.runs.list(thread_id)
    assert state["interrupts"] == [] and run["status"] == "success"
    [refused] = [m for m in tools if m["name"] == "issue_refund"]
    assert refused["status"] == "error"
    assert "refund_within_invoice" in refused["content"] and "199.00 USD left to refund" in refused["content"]
    assert effects(url) == desk and audit_rows(url, thread_id) == []
    assert policy_refusals(before, scrape(keel.base_url)) == 1


async def refused(call: Any) -> str:
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await call
    assert failed.value.response.status_code == 403, failed.value.response.text
    return str(failed.value.response.json()["detail"])


async def test_the_configured_amount_makes_a_150_refund_two_person(keel: KeelProcess) -> None:
    url = keel.env["DATABASE_URL"]
    before = scrape(keel.base_url)
    accept: Command = {"resume": {"type": "accept"}}
    async with as_user(keel, "carol") as carol, as_user(keel, "bob") as bob:
        thread_id, _ = await ask(carol, REFUND.format(amount=150), TEAM["carol"])
        [pending] = (await carol.threads.get_state(thread_id))["interrupts"]
        assert pending["value"]["args"]["amount"] == 150.0 and pending["value"]["two_person"] is True
        desk = effects(url)
        assert "two-person" in await refused(carol.runs.wait(thread_id, "support", command=accept))
        assert effects(url) == desk and audit_rows(url, thread_id) == []
        await bob.runs.wait(thread_id, "support", command=accept)
        assert effects(url)["refunds"] == desk["refunds"] + 1
        [row] = audit_rows(url, thread_id)
        assert (row["decider"], row["requested_by"], row["decision"]) == ("bob", "carol", "accept")

        # An edit from $50 (one person) to $150 is checked with the same amount.
        thread_id, _ = await ask(carol, REFUND.format(amount=50), TEAM["carol"])
        [small] = (await carol.threads.get_state(thread_id))["interrupts"]
        assert small["value"]["two_person"] is False
        edit: Command = {"resume": {"type": "edit", "args": {**small["value"]["args"], "amount": 150.0}}}
        assert "two-person" in await refused(carol.runs.wait(thread_id, "support", command=edit))
        assert [item["id"] for item in (await carol.threads.get_state(thread_id))["interrupts"]] == [small["id"]]
    assert policy_refusals(before, scrape(keel.base_url)) == 0
