"""`keel chat` in a pseudo-terminal against a real keel process: it streams an answer, stops at an approval and
asks (flagging the knowledge-base article the agent had read before), resumes with the person's decision (the
refund lands once in desk.refunds), continues a thread with an API key, and leaves on Ctrl-C / Ctrl-D without a
traceback, cancelling its run when asked. Asserts on rows and prompts, not on the model's wording."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from tests.pg import scratch_database
from tests.process import REPO, KeelProcess
from tests.server.runs.approvers import KEYS, api_keys_env, audit_rows, effects, write_auth_config
from tests.terminal import CTRL_C, CTRL_D, Terminal
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

APPROVAL = "[a]pprove / [e]dit / [r]eject / re[s]pond? "
PROMPT = "you> "
REFUND = "Refund $3 of invoice inv_tyrell_2026_11 for cus_tyrell"

SLOW_GRAPH = """
import asyncio

from langgraph.graph import START, MessagesState, StateGraph


async def think(state: MessagesState) -> dict:
    await asyncio.sleep(600)  # until cancelled
    return {}


slow = StateGraph(MessagesState)
slow.add_node("think", think)
slow.add_edge(START, "think")
"""


def serve(folder: Path, url: str, config: Path, env: dict[str, str] | None = None) -> KeelProcess:
    keel = KeelProcess(
        ["serve"],
        env={"DATABASE_URL": url, "KEEL_CONFIG": str(config), "KEEL_RUN_POLL": "0.5", **(env or {})},
        cwd=folder,
        log=folder / "keel.log",
    )
    keel.wait_ready()
    return keel


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    """keel without auth, serving the support graph and one that thinks until cancelled."""
    folder = tmp_path_factory.mktemp("chat")
    (folder / "chat_graphs.py").write_text(SLOW_GRAPH)
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"support": "graphs.support:build", "slow": "./chat_graphs.py:slow"}}))
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        served = serve(folder, url, config)
        yield served
        served.stop()


@pytest.fixture(scope="module")
def authed_keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    """keel with API keys (tests/server/runs/approvers.py): bob may decide approvals."""
    folder = tmp_path_factory.mktemp("chat-auth")
    config = write_auth_config(folder, {"support": "graphs.support:build"})
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        served = serve(folder, url, config, api_keys_env())
        yield served
        served.stop()


def chat(tmp_path: Path, *args: str, api_key: str | None = None) -> Terminal:
    env = {k: v for k, v in os.environ.items() if k != "KEEL_API_KEY"}
    env.update({"PYTHONPATH": str(REPO), "TERM": "dumb", **({"KEEL_API_KEY": api_key} if api_key else {})})
    return Terminal([sys.executable, "-m", "server.cli", "chat", *args], env=env, cwd=str(tmp_path))


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def thread_of(term: Terminal) -> str:
    term.expect(PROMPT)
    found = re.search(r"thread ([0-9a-f-]{36})", term.text)
    assert found, term.text
    return found.group(1)


@pytest.fixture
def client(keel: KeelProcess) -> Iterator[SyncLangGraphClient]:
    with get_sync_client(url=keel.base_url, api_key=None) as sdk:
        yield sdk


def last_ai_text(client: SyncLangGraphClient, thread_id: str) -> str:
    values = client.threads.get_state(thread_id)["values"]
    assert isinstance(values, dict)
    [*_, last] = [m for m in values["messages"] if m["type"] == "ai"]
    assert isinstance(last["content"], str) and last["content"]
    return last["content"]


def no_traceback(term: Terminal) -> None:
    assert "Traceback" not in term.text, term.text


def test_a_question_streams_an_answer_and_a_refund_lands_once_after_approve(
    keel: KeelProcess, client: SyncLangGraphClient, tmp_path: Path, terminals: list[Terminal]
):
    url = keel.env["DATABASE_URL"]
    term = chat(tmp_path, "support", "--url", keel.base_url)
    terminals.append(term)
    thread_id = thread_of(term)

    at = term.mark()
    term.send("What is the billing status of cus_initech?")
    at = term.expect(PROMPT, after=at)
    assert last_ai_text(client, thread_id) in term.text  # the answer the thread holds, as it was streamed
    assert "-> supervisor: ask_billing(" in term.text  # the tool call, one line

    term.send("How do I set up SSO?")  # a knowledge-base answer: the refund below is proposed after reading it
    at = term.expect(PROMPT, after=at)

    term.send(REFUND)
    at = term.expect(APPROVAL, after=at)
    assert "approval needed: issue_refund" in term.text
    assert "UNTRUSTED CONTENT: proposed after reading kb/sso-setup.md" in term.text
    [pending] = client.threads.get_state(thread_id)["interrupts"]
    before = effects(url)["refunds"]
    term.send("a")
    at = term.expect(PROMPT, after=at)
    assert effects(url)["refunds"] == before + 1
    assert client.threads.get_state(thread_id)["interrupts"] == []
    [row] = audit_rows(url, thread_id)
    assert (row["interrupt_id"], row["decision"]) == (pending["id"], "accept")

    term.press(CTRL_D)
    assert term.wait() == 0
    no_traceback(term)
    assert effects(url)["refunds"] == before + 1


def test_with_an_api_key_a_thread_is_continued_and_an_edit_changes_the_amount(
    authed_keel: KeelProcess, tmp_path: Path, terminals: list[Terminal]
):
    url = authed_keel.env["DATABASE_URL"]
    first = chat(tmp_path, "support", "--url", authed_keel.base_url, "--api-key", KEYS["bob"])
    terminals.append(first)
    thread_id = thread_of(first)
    first.send("Refund $3 of invoice inv_acme_2026_11 for cus_acme")
    first.expect(APPROVAL)
    first.press(CTRL_D)  # leaves with the approval pending
    assert first.wait() == 0
    no_traceback(first)

    refunds = "SELECT amount_cents FROM desk.refunds WHERE invoice_id = 'inv_acme_2026_11'"
    with psycopg.connect(url) as conn:
        assert conn.execute(refunds).fetchall() == []

    again = chat(tmp_path, "--url", authed_keel.base_url, "--thread", thread_id, api_key=KEYS["bob"])
    terminals.append(again)
    at = again.expect(APPROVAL)
    again.send("e")
    at = again.expect("fields to change, as JSON (Enter: field by field): ", after=at)
    again.send("")  # field by field: Enter keeps a value
    for field, typed in (("customer_id", ""), ("invoice_id", ""), ("amount", "2"), ("reason", "")):
        at = again.expect(f"  {field} [", after=at)
        again.send(typed)
    again.expect(PROMPT, after=at)
    with psycopg.connect(url) as conn:
        assert conn.execute(refunds).fetchall() == [(200,)]
    [row] = audit_rows(url, thread_id)
    assert (row["decision"], row["decider"]) == ("edit", "bob")
    again.press(CTRL_C)
    assert again.wait() in (0, 130)
    no_traceback(again)


def test_ctrl_c_at_the_prompt_exits_without_a_traceback(keel: KeelProcess, tmp_path: Path, terminals: list[Terminal]):
    term = chat(tmp_path, "support", "--url", keel.base_url)
    terminals.append(term)
    thread_of(term)
    term.press(CTRL_C)
    assert term.wait() in (0, 130)
    no_traceback(term)


def test_ctrl_c_during_a_run_cancels_it_when_asked(
    keel: KeelProcess, client: SyncLangGraphClient, tmp_path: Path, terminals: list[Terminal]
):
    term = chat(tmp_path, "slow", "--url", keel.base_url)
    terminals.append(term)
    thread_id = thread_of(term)
    term.send("think about it")
    [run] = wait_until(lambda: client.runs.list(thread_id, status="running"), what="the run to start")
    term.press(CTRL_C)
    term.expect(f"cancel run {run['run_id']}? [y/N] ")
    term.send("y")
    assert term.wait() in (0, 130)
    no_traceback(term)
    wait_until(
        lambda: client.runs.get(thread_id, run["run_id"])["status"] == "interrupted", what="the run to be cancelled"
    )


def test_cancel_on_exit_cancels_without_asking(
    keel: KeelProcess, client: SyncLangGraphClient, tmp_path: Path, terminals: list[Terminal]
):
    term = chat(tmp_path, "slow", "--url", keel.base_url, "--cancel-on-exit")
    terminals.append(term)
    thread_id = thread_of(term)
    term.send("think about it")
    [run] = wait_until(lambda: client.runs.list(thread_id, status="running"), what="the run to start")
    term.press(CTRL_C)
    assert term.wait() in (0, 130)
    no_traceback(term)
    assert "[y/N]" not in term.text
    wait_until(
        lambda: client.runs.get(thread_id, run["run_id"])["status"] == "interrupted", what="the run to be cancelled"
    )


def test_a_caller_who_may_not_decide_is_told_so_and_nothing_runs(
    authed_keel: KeelProcess, tmp_path: Path, terminals: list[Terminal]
):
    url = authed_keel.env["DATABASE_URL"]
    term = chat(tmp_path, "support", "--url", authed_keel.base_url, api_key=KEYS["alice"])
    terminals.append(term)
    thread_id = thread_of(term)
    term.send("Refund $4 of invoice inv_initech_2026_09 for cus_initech")
    at = term.expect(APPROVAL)
    before = effects(url)
    term.send("a")
    term.expect("'approvals:decide'", after=at)
    assert term.wait() == 1
    no_traceback(term)
    assert effects(url) == before
    assert audit_rows(url, thread_id) == []
    with get_sync_client(url=authed_keel.base_url, api_key=KEYS["bob"]) as bob:
        assert len(bob.threads.get_state(thread_id)["interrupts"]) == 1  # still pending, for someone who may decide
