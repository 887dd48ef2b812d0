"""keel's approval inbox at /ui, in Chromium: bob signs in with his API key and decides on the refunds alice's
runs asked for. An edit changes the amount and the refund lands once; a reject leaves the desk untouched (its card
flags the knowledge-base article the agent had read before proposing the refund); a reload
keeps the pending form (with what was typed); the resumed run's tokens appear while it streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from playwright.sync_api import Page, Request, Route, expect

from tests.process import KeelProcess
from tests.server.runs.approvers import KEYS, audit_rows, effects
from tests.server.runs.serving import human
from tests.server.ui.conftest import Steps

pytestmark = pytest.mark.slow

REFUND = "Refund ${amount} of invoice inv_tyrell_2026_11 for cus_tyrell"

# Records, on every change to the card, whether its run was still streaming and how many tokens were shown: the
# proof that tokens appeared live rather than after the run ended.
WATCH_TOKENS = """card => {
    window.__seen = [];
    new MutationObserver(() => {
        const status = card.querySelector('.run-status');
        window.__seen.push([status ? status.dataset.status : null, card.querySelectorAll('.live .token').length]);
    }).observe(card, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


@pytest.fixture
def alice(keel: KeelProcess) -> Iterator[SyncLangGraphClient]:
    with get_sync_client(url=keel.base_url, api_key=KEYS["alice"]) as client:
        yield client


def pending_refund(alice: SyncLangGraphClient, amount: int, asked_before: str = "") -> tuple[str, dict[str, Any]]:
    """A thread of alice's stopped at the issue_refund approval (after `asked_before`, when given); its id and the
    interrupt."""
    thread = alice.threads.create()
    if asked_before:
        alice.runs.wait(thread["thread_id"], "support", input=human(asked_before))
    alice.runs.wait(thread["thread_id"], "support", input=human(REFUND.format(amount=amount)))
    [interrupt] = alice.threads.get_state(thread["thread_id"])["interrupts"]
    assert interrupt["value"]["tool"] == "issue_refund"
    return str(thread["thread_id"]), dict(interrupt)


def sign_in(page: Page, keel: KeelProcess, name: str) -> None:
    page.goto(f"{keel.base_url}/ui")
    form = page.locator("#sign-in")
    expect(form).to_be_visible()  # keel answered the inbox's first call with 401
    form.locator("select[name=kind]").select_option("api-key")
    form.locator("input[name=secret]").fill(KEYS[name])
    form.locator("button[type=submit]").click()


def refunds_of(url: str, amount_cents: int) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM desk.refunds WHERE invoice_id = 'inv_tyrell_2026_11' AND amount_cents = %s",
            (amount_cents,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_an_edit_changes_the_amount_the_refund_lands_once_and_its_tokens_stream_live(
    keel: KeelProcess, alice: SyncLangGraphClient, page: Page, steps: Steps
):
    url = keel.env["DATABASE_URL"]
    thread_id, refund = pending_refund(alice, 3)
    before = effects(url)
    sign_in(page, keel, "bob")
    card = page.locator(f"article[data-interrupt='{refund['id']}']")
    expect(card).to_be_visible()
    expect(card.locator("h3")).to_have_text("issue_refund")
    expect(card.locator(".reason")).to_contain_text(refund["value"]["reason"])
    expect(card.locator(".conversation")).to_contain_text("Refund $3 of invoice inv_tyrell_2026_11")
    amount = card.locator("input[name=amount]")
    expect(amount).to_have_value("3")
    steps.shot("inbox-lists-the-pending-refund")

    amount.fill("2")
    expect(card.locator("button[data-decision=approve]")).to_be_disabled()  # approving now would not be what is shown
    steps.shot("amount-edited")
    page.reload()
    card = page.locator(f"article[data-interrupt='{refund['id']}']")
    expect(card.locator("input[name=amount]")).to_have_value("2")  # still pending, with the edit typed before
    steps.shot("after-reload-the-form-is-kept")

    card.evaluate(WATCH_TOKENS)
    card.locator("button[data-decision=edit]").click()
    decided = page.locator(f"#decided article[data-interrupt='{refund['id']}']")
    expect(decided.locator(".run-status")).to_have_attribute("data-status", "done")
    steps.shot("resumed-run-streamed")
    seen: list[list[Any]] = page.evaluate("window.__seen")
    assert any(status == "streaming" and tokens > 0 for status, tokens in seen), seen
    assert decided.locator(".live .token").count() > 1  # token by token, not one final message
    answer = decided.locator(".live .message.ai").last.inner_text()
    assert "2" in answer

    assert effects(url)["refunds"] == before["refunds"] + 1
    assert refunds_of(url, 200) == 1 and refunds_of(url, 300) == 0
    [row] = audit_rows(url, thread_id)
    assert (row["decision"], row["decider"], row["final_args"]["amount"]) == ("edit", "bob", 2)
    expect(page.locator("#pending article")).to_have_count(0)  # the inbox reloaded: nothing else is waiting
    page.reload()
    expect(page.locator("#notice")).to_have_text("No approvals are waiting for you.")
    steps.shot("inbox-empty")
    assert effects(url)["refunds"] == before["refunds"] + 1  # once


def test_a_reject_leaves_the_desk_untouched(keel: KeelProcess, alice: SyncLangGraphClient, page: Page, steps: Steps):
    url = keel.env["DATABASE_URL"]
    # Asked after a knowledge-base answer in the same thread: the refund carries the untrusted-content flag.
    thread_id, refund = pending_refund(alice, 4, asked_before="How do I set up SSO?")
    assert refund["value"]["untrusted"][0]["source"] == "kb/sso-setup.md"
    before = effects(url)
    sign_in(page, keel, "bob")
    card = page.locator(f"article[data-interrupt='{refund['id']}']")
    expect(card).to_be_visible()
    expect(card.locator(".badge.untrusted")).to_have_text("untrusted content")
    flag = card.locator(".untrusted[role=note]")
    expect(flag).to_contain_text("proposed after reading kb/sso-setup.md")
    expect(flag.locator(".source[data-source='kb/sso-setup.md']")).to_contain_text("search_docs, read by knowledge")
    expect(flag.locator(".injection")).to_have_count(0)  # the shipped article reads as data
    steps.shot("inbox-lists-the-pending-refund")
    card.locator("button[data-decision=reject]").click()
    expect(card.locator(".problem[role=alert]")).to_contain_text("reason")  # a reject needs a reason
    card.locator("textarea[name=note]").fill("The customer withdrew the request")
    card.locator("button[data-decision=reject]").click()
    decided = page.locator(f"#decided article[data-interrupt='{refund['id']}']")
    expect(decided.locator(".run-status")).to_have_attribute("data-status", "done")
    steps.shot("rejected")
    assert effects(url) == before
    [row] = audit_rows(url, thread_id)
    assert (row["decision"], row["reason"], row["final_args"]) == ("reject", "The customer withdrew the request", None)
    assert not alice.threads.get_state(thread_id)["interrupts"]


def streamed_answers(body: str) -> list[str]:
    """The AI messages' texts in an SSE body, token events joined per message."""
    texts: dict[str, str] = {}
    for frame in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.split("\n") if ": " in line)
        if fields.get("event") != "messages":
            continue
        chunk = json.loads(fields["data"])[0]
        if str(chunk.get("type", "")).startswith("AIMessage") and isinstance(chunk.get("content"), str):
            texts[chunk["id"]] = texts.get(chunk["id"], "") + chunk["content"]
    return [text for text in texts.values() if text]


def test_a_stream_cut_short_is_joined_again_from_its_last_event(
    keel: KeelProcess, alice: SyncLangGraphClient, page: Page, steps: Steps
):
    """The first response of the resumed run ends after its first tokens (as a proxy timing out would cut it): the
    page joins the run again with Last-Event-ID and shows every token once."""
    _, refund = pending_refund(alice, 5)
    sign_in(page, keel, "bob")
    card = page.locator(f"article[data-interrupt='{refund['id']}']")
    expect(card).to_be_visible()
    whole: dict[str, str] = {}

    def cut_short(route: Route) -> None:
        response = route.fetch()  # the whole stream, to the run's end
        whole["body"] = response.text()
        frames = whole["body"].split("\r\n\r\n")
        tokens = [index for index, frame in enumerate(frames) if "event: messages" in frame]
        kept = frames[: tokens[1] + 1]
        whole["last_id"] = next(line[4:] for line in kept[-1].split("\r\n") if line.startswith("id: "))
        route.fulfill(response=response, body="\r\n\r\n".join(kept) + "\r\n\r\n")

    page.route("**/runs/stream", cut_short)
    joins: list[Request] = []
    page.on("request", lambda request: joins.append(request) if "/stream?" in request.url else None)
    card.locator("button[data-decision=approve]").click()
    decided = page.locator(f"#decided article[data-interrupt='{refund['id']}']")
    expect(decided.locator(".run-status")).to_have_attribute("data-status", "done")
    steps.shot("joined-again")
    [join] = joins
    assert join.method == "GET" and join.headers["last-event-id"] == whole["last_id"]
    assert decided.locator(".live .message.ai .text").all_inner_texts() == streamed_answers(whole["body"])
