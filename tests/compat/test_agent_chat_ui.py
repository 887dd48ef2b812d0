"""Agent Chat UI against keel, without a browser: the calls it makes, through the official JS client under node
(js/agent_chat_ui.mjs), from a page on another origin and through a passthrough that forwards bodies as
`text/plain`, as its Next.js route does. keel serves the support desk with API keys and
KEEL_CORS_ALLOW_ORIGINS naming the page's origin. Node's fetch sends no preflight, so the test sends it (httpx).

The first resume uses keel's decision vocabulary; the second answers a two-call turn with LangChain's `decisions`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tests.compat.js_client import install_js_sdk, needs_node, run_node
from tests.loopback import serve_in_thread
from tests.process import KeelProcess
from tests.server.runs.approvers import KEYS, desk_behind_api_keys, effects

pytestmark = [pytest.mark.slow, needs_node]

ORIGIN = "http://chat.test:3000"  # where Agent Chat UI's page is served
REFUND = "Refund $3 of invoice inv_tyrell_2026_11 for cus_tyrell"
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    return install_js_sdk()


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    folder = tmp_path_factory.mktemp("agent-chat-ui")
    with desk_behind_api_keys(
        folder, pg_admin_url, migrated_template_db, {"KEEL_CORS_ALLOW_ORIGINS": ORIGIN}
    ) as served:
        yield served


class Passthrough:
    """What Agent Chat UI's Next.js API route does: every request forwarded to keel, its body as `text/plain`, the
    answer streamed back as it comes. It records what it forwarded and what came back."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.forwarded: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "PATCH", "DELETE"])])

    async def forward(self, request: Request) -> StreamingResponse:
        body = await request.body()
        headers = {name: value for name, value in request.headers.items() if name not in _HOP_BY_HOP}
        if body:
            headers["content-type"] = "text/plain;charset=UTF-8"
        http = httpx.AsyncClient(base_url=self.target, timeout=None)
        sent = http.build_request(
            request.method, request.url.path, params=request.query_params, content=body, headers=headers
        )
        answer = await http.send(sent, stream=True)
        self.forwarded.append(
            {
                "method": request.method,
                "path": request.url.path,
                "content_type": headers.get("content-type"),
                "origin": headers.get("origin"),
                "status": answer.status_code,
                "allow_origin": answer.headers.get("access-control-allow-origin"),
            }
        )
        back = {name: value for name, value in answer.headers.items() if name not in _HOP_BY_HOP}

        async def close() -> None:
            await answer.aclose()
            await http.aclose()

        return StreamingResponse(answer.aiter_raw(), answer.status_code, back, background=BackgroundTask(close))


def test_a_preflight_from_the_page_is_answered_before_authentication(keel: KeelProcess):
    preflight = httpx.options(
        f"{keel.base_url}/threads/search",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    # Without a key: refused, and the page may read why.
    refused = httpx.post(f"{keel.base_url}/threads/search", json={}, headers={"origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN


def test_agent_chat_ui_calls_through_a_text_plain_passthrough_ask_and_resume_a_refund(js_sdk: Path, keel: KeelProcess):
    url = keel.env["DATABASE_URL"]
    before = effects(url)["refunds"]
    passthrough = Passthrough(keel.base_url)
    with serve_in_thread(passthrough.app, name="agent chat ui passthrough") as port:
        result = run_node(
            js_sdk,
            "agent_chat_ui.mjs",
            f"http://127.0.0.1:{port}",
            KEYS["bob"],
            ORIGIN,
            REFUND,
            json.dumps({"type": "accept"}),
            timeout=120,
        )

    assert (result["info_status"], result["info_cors"]) == (200, ORIGIN)
    # The question: the offline model read the content blocks and asked for the refund's approval.
    assert "values" in result["asked_events"] and "updates" in result["asked_events"]
    [pending] = result["pending"]
    assert (pending["tool"], pending["args"]["amount"], pending["args"]["invoice_id"]) == (
        "issue_refund",
        3,
        "inv_tyrell_2026_11",
    )
    assert pending["args"]["reason"] == REFUND  # the blocks' text, not their JSON
    assert result["asked_interrupts"] == [pending]
    # The thread list finds the thread by graph id and by assistant id; the history has its checkpoints.
    assert result["thread_id"] in result["by_graph"]
    assert result["thread_id"] in result["by_assistant"]
    assert result["history_length"] > 1
    # The resume (`input: {}` beside `command`) ran the refund, once.
    assert result["resumed_interrupts"] == []
    assert "tool" in result["resumed_message_types"]
    assert result["resumed_message_types"][-1] == "ai"
    assert result["status"] == "idle"
    assert effects(url)["refunds"] == before + 1

    # Every call went through as text/plain from the page's origin, and keel answered it for that origin.
    posts = [call for call in passthrough.forwarded if call["method"] == "POST"]
    assert {"/threads", "/threads/search", f"/threads/{result['thread_id']}/runs/stream"} <= {
        call["path"] for call in posts
    }
    assert all(call["content_type"] == "text/plain;charset=UTF-8" for call in posts), posts
    assert all(call["origin"] == ORIGIN for call in passthrough.forwarded), passthrough.forwarded
    assert all(call["status"] == 200 for call in passthrough.forwarded), passthrough.forwarded
    assert all(call["allow_origin"] == ORIGIN for call in passthrough.forwarded), passthrough.forwarded


UPGRADE_AND_REFUND = "Upgrade cus_tyrell to the pro plan and refund $3 of invoice inv_tyrell_2026_11"


def test_two_approvals_of_one_turn_are_answered_by_one_decisions_list(js_sdk: Path, keel: KeelProcess):
    """Agent Chat UI answers LangChain's HITL interrupt with one `decisions` list, in order, without ids."""
    url = keel.env["DATABASE_URL"]
    before = effects(url)
    decisions = {"decisions": [{"type": "reject", "message": "not this month"}, {"type": "approve"}]}
    passthrough = Passthrough(keel.base_url)
    with serve_in_thread(passthrough.app, name="agent chat ui passthrough") as port:
        result = run_node(
            js_sdk,
            "agent_chat_ui.mjs",
            f"http://127.0.0.1:{port}",
            KEYS["bob"],
            ORIGIN,
            UPGRADE_AND_REFUND,
            json.dumps(decisions),
            timeout=120,
        )

    [pending] = result["pending"]  # one interrupt for the turn's two calls, in LangChain's schema
    assert [action["name"] for action in pending["action_requests"]] == ["enable_paid_plan", "issue_refund"]
    assert [config["action_name"] for config in pending["review_configs"]] == ["enable_paid_plan", "issue_refund"]
    assert result["resumed_interrupts"] == [] and result["status"] == "idle"
    after = effects(url)
    # The plan change was rejected, the refund approved: one refund, one ledger entry.
    assert (after["refunds"] - before["refunds"], after["ledger"] - before["ledger"]) == (1, 1)
    assert all(call["status"] == 200 for call in passthrough.forwarded), passthrough.forwarded
