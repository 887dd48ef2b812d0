"""Approval across a restart: one process stops at the approval, a new process (new pool, new saver)
resumes it. Every step runs in a child process of its own."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.graphs.harness import run_child

pytestmark = pytest.mark.slow

REQUEST = "Refund $49 of invoice inv_initech_2026_09 for cus_initech, they were double charged"
ARGS = {"customer_id": "cus_initech", "invoice_id": "inv_initech_2026_09", "amount": 49.0, "reason": REQUEST}


def refunds(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        query = "SELECT amount_cents, reason FROM desk.refunds WHERE invoice_id = 'inv_initech_2026_09'"
        return conn.execute(query).fetchall()


def stop_at_approval(url: str) -> tuple[str, str]:
    thread = str(uuid.uuid4())
    first = run_child({"url": url, "graph": "support", "thread": thread, "action": "ask", "request": REQUEST})
    [pending] = first["interrupts"]
    assert pending["value"]["tool"] == "issue_refund"
    assert pending["value"]["args"] == ARGS
    assert pending["value"]["agent"] == "billing"
    assert refunds(url) == []
    return thread, pending["id"]


def resume(url: str, thread: str, value: Any) -> dict[str, Any]:
    return run_child({"url": url, "graph": "support", "thread": thread, "action": "resume", "value": value})


def test_accept_in_a_new_process_writes_exactly_one_row(database_url: str) -> None:
    thread, _ = stop_at_approval(database_url)
    done = resume(database_url, thread, {"type": "accept"})
    assert done["interrupts"] == []
    assert refunds(database_url) == [(4900, REQUEST)]
    assert "issue_refund" in done["answer"]


def test_edit_runs_the_edited_arguments(database_url: str) -> None:
    thread, _ = stop_at_approval(database_url)
    edited = {**ARGS, "amount": 20.0, "reason": "Partial goodwill refund"}
    done = resume(database_url, thread, {"type": "edit", "args": edited})
    assert done["interrupts"] == []
    assert refunds(database_url) == [(2000, "Partial goodwill refund")]


def test_reject_writes_nothing_and_the_model_is_told_why(database_url: str) -> None:
    thread, _ = stop_at_approval(database_url)
    done = resume(database_url, thread, {"type": "reject", "reason": "already refunded by phone on Monday"})
    assert done["interrupts"] == []
    assert refunds(database_url) == []
    assert "rejected issue_refund" in done["answer"]
    assert "already refunded by phone on Monday" in done["answer"]


def test_respond_sends_a_message_instead_of_the_call(database_url: str) -> None:
    thread, _ = stop_at_approval(database_url)
    done = resume(database_url, thread, {"type": "respond", "message": "Ask them for the card's last 4 digits first"})
    assert done["interrupts"] == []
    assert refunds(database_url) == []
    assert "Ask them for the card's last 4 digits first" in done["answer"]


def test_an_invalid_edit_is_refused_and_the_approval_stays_pending(database_url: str) -> None:
    thread, first_id = stop_at_approval(database_url)
    still = resume(database_url, thread, {"type": "edit", "args": {**ARGS, "amount": -5}})
    [pending] = still["interrupts"]
    assert pending["id"] != first_id
    assert pending["value"]["args"] == ARGS
    assert "invalid arguments for issue_refund: amount: Input should be greater than 0" in pending["value"]["error"]
    assert refunds(database_url) == []
    nonsense = resume(database_url, thread, {"type": "approved"})  # ("approve" is LangChain's accept)
    assert "invalid decision" in nonsense["interrupts"][0]["value"]["error"]
    done = resume(database_url, thread, {"type": "accept"})
    assert done["interrupts"] == []
    assert refunds(database_url) == [(4900, REQUEST)]
