"""A run paused at its budget in keel's inbox at /ui, in Chromium: bob sees what was spent and what is left,
extends it (the run goes on to the extended limit), then stops it (the run ends with an answer)."""

from __future__ import annotations

import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Page, expect

from tests.process import KeelProcess
from tests.server.runs.approvers import KEYS, audit_rows
from tests.server.runs.serving import human
from tests.server.ui.conftest import Steps
from tests.server.ui.test_inbox import sign_in

pytestmark = pytest.mark.slow


def test_a_budget_pause_is_extended_then_stopped_from_the_inbox(keel: KeelProcess, page: Page, steps: Steps):
    with get_sync_client(url=keel.base_url, api_key=KEYS["alice"]) as alice:
        capped = alice.assistants.create("support", metadata={"budget": {"run": {"model_calls": 2}}})
        thread_id = str(alice.threads.create()["thread_id"])
        alice.runs.wait(thread_id, capped["assistant_id"], input=human("What is the billing status of cus_initech?"))
        [paused] = alice.threads.get_state(thread_id)["interrupts"]

    sign_in(page, keel, "bob")
    card = page.locator(f"article[data-interrupt='{paused['id']}']")
    expect(card.locator("h3")).to_have_text("Budget reached")
    expect(card).to_contain_text("run model_calls: 2 of 2")
    steps.shot("budget-pause-in-the-inbox")
    card.locator("input[name=model_calls]").fill("1")
    card.locator("button[data-decision=extend]").click()
    decided = page.locator(f"#decided article[data-interrupt='{paused['id']}']")
    expect(decided.locator(".run-status")).to_have_attribute("data-status", "done")

    with get_sync_client(url=keel.base_url, api_key=KEYS["bob"]) as bob:
        [again] = bob.threads.get_state(thread_id)["interrupts"]
    assert again["value"]["exceeded"][0]["max"] == 3
    page.reload()
    card = page.locator(f"article[data-interrupt='{again['id']}']")
    card.locator("textarea[name=note]").fill("enough for today")
    card.locator("button[data-decision=stop]").click()
    decided = page.locator(f"#decided article[data-interrupt='{again['id']}']")
    expect(decided.locator(".run-status")).to_have_attribute("data-status", "done")
    steps.shot("stopped")

    with get_sync_client(url=keel.base_url, api_key=KEYS["bob"]) as bob:
        state = bob.threads.get_state(thread_id)
    assert state["interrupts"] == []
    rows = audit_rows(keel.env["DATABASE_URL"], thread_id)
    assert [(r["decision"], r["final_args"], r["reason"]) for r in rows] == [
        ("extend", {"model_calls": 1}, None),
        ("stop", None, "enough for today"),
    ]
