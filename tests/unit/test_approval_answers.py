"""How an approval's answer is read (nodes/approval.py), without a graph: LangChain's decisions become keel's, in
order; a tool's `allowed_decisions` limits both vocabularies; anything else is a one-line reason."""

from __future__ import annotations

import dataclasses

import pytest

from nodes.approval import Decision, parse_answer
from tools import TOOLS

REFUND = {"customer_id": "cus_acme", "invoice_id": "inv_acme_2026_11", "amount": 5.0, "reason": "double charge"}
TWO = ["enable_paid_plan", "issue_refund"]


def test_langchain_decisions_become_keels_in_order() -> None:
    edited = {"name": "issue_refund", "args": {**REFUND, "amount": "49"}}
    decided = parse_answer(
        {"decisions": [{"type": "reject", "message": "later"}, {"type": "edit", "edited_action": edited}]}, TWO
    )
    assert decided == [
        Decision(type="reject", reason="later"),
        Decision(type="edit", args={**REFUND, "amount": 49.0}),  # as the schema coerces a form's string
    ]
    assert parse_answer({"decisions": [{"type": "approve"}, {"type": "accept"}]}, TWO) == [
        Decision(type="accept"),
        Decision(type="accept"),
    ]
    assert parse_answer({"type": "approve"}, ["issue_refund"]) == [Decision(type="accept")]
    assert parse_answer({"type": "resolved"}, TWO) == [Decision(type="resolved"), Decision(type="resolved")]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"type": "accept"}, "answer with {'decisions': [...]}"),
        ({"decisions": [{"type": "approve"}] * 3}, "3 decisions for 2 action request(s)"),
        ({"decisions": "approve"}, "decisions that are not a list"),
        ({"decisions": [], "extra": 1}, "only 'decisions' (not extra)"),
        ({"decisions": [{"type": "approve"}, {"type": "approve", "args": {}}]}, "an approve decision takes no args"),
        ({"decisions": [{"type": "approve"}, {"type": "edit", "edited_action": {"args": REFUND}}]}, "'name'"),
        (
            {"decisions": [{"type": "approve"}, {"type": "edit", "edited_action": {"name": "x", "args": REFUND}}]},
            "an edit changes the arguments, not the tool",
        ),
        ({"decisions": [{"type": "approve"}, {"type": "reject", "message": "a", "reason": "b"}]}, "not reason"),
    ],
)
def test_a_wrong_answer_says_why(answer: object, why: str) -> None:
    problem = parse_answer(answer, TWO)
    assert isinstance(problem, str) and why in problem


def test_a_tool_limits_what_may_be_decided(monkeypatch: pytest.MonkeyPatch) -> None:
    no_edits = dataclasses.replace(TOOLS["issue_refund"], allowed_decisions=("approve", "reject"))
    monkeypatch.setitem(TOOLS, "issue_refund", no_edits)
    for edit in (
        {"type": "edit", "args": REFUND},
        {"type": "edit", "edited_action": {"name": "issue_refund", "args": REFUND}},
    ):
        problem = parse_answer(edit, ["issue_refund"])
        assert isinstance(problem, str) and "does not allow 'edit' decisions; allowed: approve, reject" in problem
    assert parse_answer({"type": "respond", "message": "done by hand"}, ["issue_refund"]) == [
        Decision(type="respond", message="done by hand")
    ]
