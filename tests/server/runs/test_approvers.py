"""The approver role and the audit trail, through the official SDK with API-key identities (tests/server/runs/
approvers.py): deciding on an approval needs `approvals:decide` (403 and still pending otherwise, on every path
that could answer or drop it), the two-person rule holds, every decision is a row in keel.approvals with its
decider, and the approval lists show each caller the rows of the threads it may read, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Command

from tests.process import KeelProcess
from tests.server.runs.approvers import KEYS, TEAM, audit_rows, desk_behind_api_keys, effects, headers
from tests.server.runs.serving import human

pytestmark = pytest.mark.slow

SMALL_REFUND = "Refund ${amount} of invoice inv_acme_2026_11 for cus_acme"
LARGE_REFUND = "Refund $1500 of invoice inv_globex_2026_q4 for cus_globex, the seats were never used"


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    """keel serving the support graph with a user's auth.py on top of the shipped API keys."""
    folder = tmp_path_factory.mktemp("approvers")
    with desk_behind_api_keys(folder, pg_admin_url, migrated_template_db) as served:
        yield served


@asynccontextmanager
async def as_user(keel: KeelProcess, name: str) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=keel.base_url, api_key=KEYS[name]) as client:
        yield client


async def waiting(client: LangGraphClient, request: str, team: str) -> tuple[str, dict[str, Any]]:
    """A thread of `team` stopped at the one approval `request` leads to."""
    thread = await client.threads.create(metadata={"team": team})
    await client.runs.wait(thread["thread_id"], "support", input=human(request))
    state = await client.threads.get_state(thread["thread_id"])
    [pending] = state["interrupts"]
    return str(thread["thread_id"]), dict(pending)


async def refused(call: Any, status: int) -> str:
    """Await `call`, which must fail with `status`; its detail."""
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await call
    assert failed.value.response.status_code == status, failed.value.response.text
    return str(failed.value.response.json()["detail"])


async def pending_ids(client: LangGraphClient, thread_id: str) -> list[str]:
    return [item["id"] for item in (await client.threads.get_state(thread_id))["interrupts"]]


async def test_without_the_permission_no_path_decides_and_the_approval_stays_pending(keel: KeelProcess):
    url = keel.env["DATABASE_URL"]
    async with as_user(keel, "alice") as alice, as_user(keel, "bob") as bob:
        thread_id, refund = await waiting(alice, SMALL_REFUND.format(amount=2), TEAM["alice"])
        assert refund["value"]["requested_by"] == "alice"
        before = effects(url)
        accept: Command = {"resume": {"type": "accept"}}
        keyed: Command = {"resume": {refund["id"]: {"type": "accept"}}}
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: alice.runs.wait(thread_id, "support", command=accept),
            lambda: alice.runs.wait(thread_id, "support", command=keyed),
            lambda: alice.runs.create(thread_id, "support", command=accept),
            lambda: alice.runs.create(thread_id, "support", command=accept, multitask_strategy="enqueue"),
            lambda: alice.runs.wait(thread_id, "support", command={"resume": {"type": "reject", "reason": "no"}}),
        ]
        for attempt in attempts:
            assert "'approvals:decide'" in await refused(attempt(), 403)
        update = alice.threads.update_state(thread_id, {"messages": []}, as_node="billing")
        assert refund["id"] in await refused(update, 409)  # an update that would drop it, unasked: refused as before
        async with httpx.AsyncClient(base_url=keel.base_url, headers=headers("alice"), timeout=60) as raw:
            stream = await raw.post(
                f"/threads/{thread_id}/runs/stream", json={"assistant_id": "support", **{"command": accept}}
            )
            assert stream.status_code == 403 and "approvals:decide" in stream.json()["detail"]
            discard = await raw.post(f"/threads/{thread_id}/state", json={"values": None, "discard_interrupts": True})
            assert discard.status_code == 403 and "approvals:decide" in discard.json()["detail"]

        # Nothing changed: still pending, no run, no effect, no audit row; the owner still reads the approval.
        assert await pending_ids(alice, thread_id) == [refund["id"]]
        assert len(await alice.runs.list(thread_id)) == 1
        assert effects(url) == before
        assert audit_rows(url, thread_id) == []
        assert (await alice.threads.get(thread_id))["interrupts"]

        # With the permission: the refund runs, once, and the decision is audited with its decider.
        answer = await bob.runs.wait(thread_id, "support", command=keyed)
        assert "__interrupt__" not in answer
        assert effects(url)["refunds"] == before["refunds"] + 1
        [row] = audit_rows(url, thread_id)
        resumed = (await bob.runs.list(thread_id))[0]
        assert (row["interrupt_id"], row["decision"], row["decider"], row["decider_name"]) == (
            refund["id"],
            "accept",
            "bob",
            "Bob",
        )
        assert (row["requested_by"], row["tool"], str(row["run_id"])) == ("alice", "issue_refund", resumed["run_id"])
        assert row["proposed_args"] == row["final_args"] == refund["value"]["args"]
        # A second answer finds nothing pending.
        assert "no pending interrupt" in await refused(bob.runs.wait(thread_id, "support", command=accept), 409)
        assert effects(url)["refunds"] == before["refunds"] + 1
        assert len(audit_rows(url, thread_id)) == 1


async def test_the_two_person_rule_holds(keel: KeelProcess):
    url = keel.env["DATABASE_URL"]
    async with as_user(keel, "carol") as carol, as_user(keel, "bob") as bob:
        # carol may decide, but not on the large refund her own run asked for.
        thread_id, large = await waiting(carol, LARGE_REFUND, TEAM["carol"])
        assert large["value"]["two_person"] is True and large["value"]["requested_by"] == "carol"
        before = effects(url)
        commands: list[Command] = [{"resume": {"type": "accept"}}, {"resume": {"type": "reject", "reason": "mine"}}]
        for command in commands:
            detail = await refused(carol.runs.wait(thread_id, "support", command=command), 403)
            assert "two-person" in detail and "carol" in detail
        assert await pending_ids(carol, thread_id) == [large["id"]]
        assert effects(url) == before and audit_rows(url, thread_id) == []
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "accept"}})
        assert effects(url)["refunds"] == before["refunds"] + 1
        [row] = audit_rows(url, thread_id)
        assert (row["decider"], row["requested_by"], row["decision"]) == ("bob", "carol", "accept")

        # An edit cannot take a call into the rule unnoticed: carol's own small refund, edited to a large one.
        thread_id, small = await waiting(carol, SMALL_REFUND.format(amount=3), TEAM["carol"])
        assert small["value"]["two_person"] is False
        large_args = {**small["value"]["args"], "amount": 1500.0}
        edit: Command = {"resume": {"type": "edit", "args": large_args}}
        assert "two-person" in await refused(carol.runs.wait(thread_id, "support", command=edit), 403)
        assert await pending_ids(carol, thread_id) == [small["id"]]
        # Deciding it as proposed is hers to do.
        await carol.runs.wait(thread_id, "support", command={"resume": {"type": "accept"}})
        [row] = audit_rows(url, thread_id)
        assert (row["decider"], row["requested_by"]) == ("carol", "carol")


async def test_every_decision_is_an_audit_row_listed_newest_first(keel: KeelProcess):
    url = keel.env["DATABASE_URL"]
    async with as_user(keel, "alice") as alice, as_user(keel, "bob") as bob:
        thread_id, first = await waiting(alice, SMALL_REFUND.format(amount=4), TEAM["alice"])
        edited = {**first["value"]["args"], "amount": 1.0}
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "edit", "args": edited}})
        await alice.runs.wait(thread_id, "support", input=human(SMALL_REFUND.format(amount=5)))
        [second] = (await alice.threads.get_state(thread_id))["interrupts"]
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "reject", "reason": "not eligible"}})
        await alice.runs.wait(thread_id, "support", input=human(SMALL_REFUND.format(amount=9)))
        [third] = (await alice.threads.get_state(thread_id))["interrupts"]
        await bob.runs.wait(thread_id, "support", command={"resume": {"type": "respond", "message": "sent by hand"}})
        await alice.runs.wait(thread_id, "support", input=human(SMALL_REFUND.format(amount=6)))
        [fourth] = (await alice.threads.get_state(thread_id))["interrupts"]
        await bob.http.post(f"/threads/{thread_id}/state", json={"values": None, "discard_interrupts": True})

        shown = await bob.http.get(f"/threads/{thread_id}/approvals", params={"limit": 10})
    assert [(row["interrupt_id"], row["decision"]) for row in shown] == [
        (fourth["id"], "discard"),
        (third["id"], "respond"),
        (second["id"], "reject"),
        (first["id"], "edit"),
    ]
    by_kind = {row["decision"]: row for row in shown}
    assert by_kind["edit"]["final_args"] == edited and by_kind["edit"]["proposed_args"] == first["value"]["args"]
    assert by_kind["reject"]["reason"] == "not eligible" and by_kind["reject"]["final_args"] is None
    assert by_kind["respond"]["message"] == "sent by hand"
    assert by_kind["discard"]["run_id"] is None and by_kind["discard"]["final_args"] is None
    assert {row["decider"] for row in shown} == {"bob"} and {row["requested_by"] for row in shown} == {"alice"}
    assert len(audit_rows(url, thread_id)) == 4


async def test_the_lists_show_each_caller_its_threads_only(keel: KeelProcess):
    async with (
        as_user(keel, "alice") as alice,
        as_user(keel, "bob") as bob,
        as_user(keel, "carol") as carol,
        as_user(keel, "eve") as eve,
    ):
        desk_thread, desk_refund = await waiting(alice, SMALL_REFUND.format(amount=7), TEAM["alice"])
        own_large, carols = await waiting(carol, LARGE_REFUND, TEAM["carol"])
        other_thread, other_email = await waiting(eve, SMALL_REFUND.format(amount=10), TEAM["eve"])

        async def inbox(client: LangGraphClient, status: str = "pending") -> set[str]:
            rows = await client.http.get("/approvals", params={"status": status, "limit": 1000})
            return {row["interrupt_id"] for row in rows}

        mine = {desk_refund["id"], carols["id"], other_email["id"]}
        assert await inbox(alice) & mine == set(), "no permission: nothing to decide"
        assert await inbox(bob) & mine == {desk_refund["id"], carols["id"]}
        assert await inbox(carol) & mine == {desk_refund["id"]}, "not the two-person approval carol asked for"
        assert await inbox(eve) & mine == {other_email["id"]}
        [shown] = [
            row
            for row in await bob.http.get("/approvals", params={"limit": 1000})
            if row["interrupt_id"] == carols["id"]
        ]
        assert (shown["thread_id"], shown["tool"], shown["two_person"], shown["requested_by"]) == (
            own_large,
            "issue_refund",
            True,
            "carol",
        )
        assert shown["permission"] == "approvals:decide" and shown["args"] == carols["value"]["args"]

        # eve can neither see nor decide the desk's approvals; bob cannot touch eve's.
        for client, thread_id in ((eve, desk_thread), (bob, other_thread)):
            await refused(client.http.get(f"/threads/{thread_id}/approvals"), 404)
            await refused(client.runs.wait(thread_id, "support", command={"resume": {"type": "accept"}}), 404)
        await eve.runs.wait(other_thread, "support", command={"resume": {"type": "accept"}})
        await bob.runs.wait(desk_thread, "support", command={"resume": {"type": "accept"}})

        assert desk_refund["id"] not in await inbox(bob)
        decided = {"bob": await inbox(bob, "decided"), "eve": await inbox(eve, "decided")}
        assert desk_refund["id"] in decided["bob"] and desk_refund["id"] not in decided["eve"]
        assert other_email["id"] in decided["eve"] and other_email["id"] not in decided["bob"]
        assert await alice.http.get(f"/threads/{desk_thread}/approvals") != []


async def test_without_auth_a_two_person_approval_cannot_be_decided(client: LangGraphClient, served: KeelProcess):
    """keel without `auth`: anyone decides a one-person approval (as before, audited with no identity), and no
    one a two-person approval: there is no identity to tell the asker from the decider."""
    url = served.env["DATABASE_URL"]
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "support", input=human(LARGE_REFUND))
    [large] = (await client.threads.get_state(thread["thread_id"]))["interrupts"]
    assert large["value"]["two_person"] is True and large["value"]["requested_by"] == ""
    before = effects(url)
    commands: list[Command] = [{"resume": {"type": "accept"}}, {"resume": {"type": "reject", "reason": "x"}}]
    for command in commands:
        assert "authentication" in await refused(client.runs.wait(thread["thread_id"], "support", command=command), 403)
    assert await pending_ids(client, str(thread["thread_id"])) == [large["id"]]
    assert effects(url) == before and audit_rows(url, str(thread["thread_id"])) == []
    assert await client.http.get("/approvals") is not None
    assert large["id"] not in {
        row["interrupt_id"] for row in await client.http.get("/approvals", params={"limit": 1000})
    }

    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "support", input=human(SMALL_REFUND.format(amount=8)))
    await client.runs.wait(thread["thread_id"], "support", command={"resume": {"type": "accept"}})
    [row] = audit_rows(url, str(thread["thread_id"]))
    assert (row["decision"], row["decider"], row["requested_by"]) == ("accept", "", "")
    assert effects(url)["refunds"] == before["refunds"] + 1


async def test_a_cron_cannot_carry_a_decision(keel: KeelProcess):
    """A scheduled resume would answer whatever is pending when it fires, decided by no one: refused up front."""
    async with as_user(keel, "alice") as alice:
        thread_id, refund = await waiting(alice, SMALL_REFUND.format(amount=11), TEAM["alice"])
        body = {"assistant_id": "support", "schedule": "* * * * *", "command": {"resume": {"type": "accept"}}}
        for path in (f"/threads/{thread_id}/runs/crons", "/runs/crons"):  # the SDK's crons take no command
            assert "command.resume" in await refused(alice.http.post(path, json=body), 422)
        assert await pending_ids(alice, thread_id) == [refund["id"]]
