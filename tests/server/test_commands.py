"""The command checks on their own: resume answers mapped to pending interrupt ids, and strict resume in the
run's config, so a map naming an interrupt that is no longer pending fails before anything is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import UnknownInterruptError
from langgraph.types import Command

from server.errors import Conflict, InvalidInput
from server.runs.execute import run_config
from server.services.commands import resolve_resume
from tests.server.runs.sample_graphs import ask

THREAD = uuid.uuid4()
APPROVAL = {
    "id": "a" * 32,
    "value": {
        "tool": "issue_refund",
        "args": {"customer_id": "cus_acme", "invoice_id": "inv_acme_2026_11", "amount": 5.0, "reason": "r"},
        "agent": "billing",
        "reason": "r",
        "description": "d",
        "tool_call_id": "call_1",
        "error": None,
    },
}
OTHER = {"id": "b" * 32, "value": {"question": "which?"}}


def resolve(resume: Any, pending: list[dict[str, Any]] | None) -> dict[str, Any]:
    return resolve_resume(resume, pending, thread_id=THREAD, thread_status="interrupted")


def test_an_unkeyed_answer_is_keyed_to_the_one_pending_interrupt():
    assert resolve({"type": "accept"}, [APPROVAL]) == {APPROVAL["id"]: {"type": "accept"}}
    assert resolve("blue", [OTHER]) == {OTHER["id"]: "blue"}


@pytest.mark.parametrize(
    ("resume", "pending", "error", "named"),
    [
        ({"type": "accept"}, None, Conflict, "busy"),
        ({"type": "accept"}, [], Conflict, "no pending interrupt"),
        ({"type": "accept"}, [APPROVAL, OTHER], Conflict, OTHER["id"]),
        ({"c" * 32: "x"}, [APPROVAL, OTHER], Conflict, "c" * 32),
        ({}, [APPROVAL], InvalidInput, "empty map"),
        ({"type": "accept", "args": {"amount": 1}}, [APPROVAL], InvalidInput, "send an edit"),
        ({"type": "edit", "args": {"amount": 1}}, [APPROVAL], InvalidInput, "invalid arguments"),
        ({APPROVAL["id"]: {"type": "maybe"}}, [APPROVAL, OTHER], InvalidInput, "invalid decision"),
    ],
)
def test_a_resume_that_answers_nothing_pending_is_refused(resume, pending, error, named):
    with pytest.raises(error, match=named):
        resolve(resume, pending)


def test_answers_to_interrupts_that_are_not_keel_approvals_are_passed_as_they_are():
    assert resolve({OTHER["id"]: {"type": "anything"}}, [APPROVAL, OTHER]) == {OTHER["id"]: {"type": "anything"}}


async def test_the_run_config_makes_a_stale_resume_map_fail_instead_of_being_ignored():
    graph = ask.compile(checkpointer=InMemorySaver())
    run: Any = {"run_id": uuid.uuid4(), "thread_id": uuid.uuid4(), "graph_id": "ask", "assistant_id": "a", "kwargs": {}}
    config: Any = run_config(run, resume_latest=False)
    await graph.ainvoke({"question": "q", "answer": ""}, config)
    [pending] = (await graph.aget_state(config)).interrupts
    with pytest.raises(UnknownInterruptError):
        await graph.ainvoke(Command(resume={"d" * 32: "late"}), config)
    assert [i.id for i in (await graph.aget_state(config)).interrupts] == [pending.id]
    assert (await graph.ainvoke(Command(resume={pending.id: "yes"}), config))["answer"] == "answer: yes"
