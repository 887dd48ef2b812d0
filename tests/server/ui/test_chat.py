"""keel's chat page for a graph (/ui/chat/{graph}), in Chromium: the answer streams in token by token."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.process import KeelProcess
from tests.server.runs.approvers import KEYS
from tests.server.ui.conftest import Steps

pytestmark = pytest.mark.slow

WATCH_TOKENS = """conversation => {
    window.__seen = [];
    new MutationObserver(() => {
        const status = document.getElementById('ask').dataset.status;
        window.__seen.push([status || null, conversation.querySelectorAll('.token').length]);
    }).observe(conversation, {subtree: true, childList: true, characterData: true});
}"""


def test_the_answer_streams_in_token_by_token(keel: KeelProcess, page: Page, steps: Steps):
    page.goto(f"{keel.base_url}/ui/chat/support")
    form = page.locator("#sign-in")
    form.locator("input[name=secret]").fill(KEYS["alice"])
    form.locator("button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#title")).to_have_text("keel · chat with support")
    steps.shot("signed-in")

    page.locator("#conversation").evaluate(WATCH_TOKENS)
    page.locator("#ask textarea[name=message]").fill("What is the billing status of cus_tyrell?")
    page.locator("#ask button[type=submit]").click()
    expect(page.locator("#ask")).to_have_attribute("data-status", "done")
    steps.shot("answered")
    seen: list[list[Any]] = page.evaluate("window.__seen")
    assert any(status == "streaming" and tokens > 0 for status, tokens in seen), seen
    assert (
        page.locator("#conversation .message.human").inner_text().endswith("What is the billing status of cus_tyrell?")
    )
    answer = page.locator("#conversation .message.ai.streamed").last
    assert answer.locator(".token").count() > 1
    expect(answer).to_contain_text("cus_tyrell")

    # The conversation is the thread's: a reload shows it from keel's state.
    page.reload()
    expect(page.locator("#conversation .message.human")).to_have_count(1)
    expect(page.locator("#conversation .message.ai").last).to_contain_text("cus_tyrell")
    steps.shot("reloaded")
