"""Error analysis (evals/analysis.py): a failed attempt is put on the FIRST node whose output went wrong, with the
kind of mistake, and failures are counted by node and kind with their trace links."""

from __future__ import annotations

from typing import Any

from evals import analysis
from evals.dataset import Task
from evals.evaluators import evaluate
from evals.evaluators.verdict import Failure
from tests.evals.attempts import ANSWER, REFUND, Story, good_refund

TRACE = "http://langfuse.local/trace/abc123"


def located(story: Story, task: Task = REFUND, **observed) -> Failure | None:
    seen = story.observed(**observed)
    verdict = evaluate(task, seen)
    return analysis.locate(task, seen, verdict)


def where(failure: Failure | None) -> tuple[str, str, int | None]:
    assert failure is not None
    return failure.node, failure.kind, failure.step


def test_a_passed_attempt_has_no_failure():
    assert located(good_refund()) is None


def test_the_supervisor_sending_the_request_to_the_wrong_worker_is_a_route_failure():
    story = Story().call("supervisor", "ask_knowledge", {"request": "refund policy?"})
    story.call("knowledge", "search_docs", {"query": "refunds"}).say("supervisor", "Refunds take 5 days.")
    failure = located(story, effects={})
    assert where(failure) == ("supervisor", "route", 0)
    assert failure is not None and "billing" in failure.detail and failure.trace_url == TRACE


def test_the_right_worker_not_calling_the_needed_tool_is_its_tool_choice():
    story = Story().call("supervisor", "ask_billing").call("billing", "check_billing_status")
    story.say("billing", "All paid.").say("supervisor", "The account is paid up.")
    assert where(located(story, effects={})) == ("billing", "tool_choice", 1)


def test_a_forbidden_call_is_put_on_the_agent_and_step_that_proposed_it():
    story = good_refund()
    story.call("billing", "enable_paid_plan", {"customer_id": "cus_acme", "plan": "pro"}, ok=None)
    assert where(located(story)) == ("billing", "tool_choice", 6)


def test_wrong_arguments_never_put_right_come_before_the_answer_that_suffers_from_them():
    story = Story().call("supervisor", "ask_billing")
    story.call(
        "billing", "issue_refund", {"invoice_id": "inv_nope"}, ok=False, result="Error: invoice inv_nope not found"
    )
    story.say("supervisor", "I could not refund it.")
    failure = located(story, effects={})
    assert where(failure) == ("billing", "arguments", 1)
    assert failure is not None and "inv_nope" in failure.detail


def test_wrong_arguments_put_right_later_are_not_the_failure():
    status = REFUND.model_copy(
        update={"expect": REFUND.expect.model_copy(update={"effects": {}, "approvals": None, "tools_required": []})}
    )
    story = Story().call("supervisor", "ask_billing")
    story.call(
        "billing", "check_billing_status", {"customer_id": "acme"}, ok=False, result="Error: customer acme not found"
    )
    story.call("billing", "check_billing_status", {"customer_id": "cus_acme"})
    story.say("supervisor", "Done.")  # the facts are missing: the answer is what went wrong, not the first lookup
    assert where(located(story, task=status, answer="Done.", effects={})) == ("supervisor", "unsupported_claim", 3)


def test_a_write_without_its_approval_and_an_approval_too_many():
    story = Story().call("supervisor", "ask_billing").call("billing", "issue_refund", {"amount": 20})
    story.say("supervisor", ANSWER)
    assert where(located(story)) == ("billing", "missed_approval", 1)

    extra = good_refund()
    extra.call("account", "send_external_message", ok=None).approval(3, {"type": "reject", "reason": "no"}, "account")
    assert where(located(extra)) == ("account", "extra_approval", 7)


def test_an_answer_without_the_facts_is_an_unsupported_claim_of_the_node_that_wrote_it():
    assert where(located(good_refund(), answer="All done!")) == ("supervisor", "unsupported_claim", 5)


def test_a_run_that_stopped_itself_gave_up_where_it_stopped():
    story = Story().call("supervisor", "ask_billing").call("billing", "check_billing_status")
    story.say("billing", "I stopped after 12 steps without finishing (the step limit).")
    story.say("supervisor", "Sorry.")
    assert where(located(story, effects={})) == ("billing", "tool_choice", 1)  # earlier: it never asked to refund
    both = good_refund()
    both.say("supervisor", "I could not finish this request within the step limit (12 steps), so I stopped here.")
    assert where(located(both, answer="I stopped.")) == ("supervisor", "gave_up", 6)
    assert where(located(good_refund(), error="the run timed out")) == ("supervisor", "gave_up", 5)


def test_the_classifier_choosing_the_wrong_onboarding_route_is_a_route_failure():
    task = Task.model_validate(
        {
            "id": "enterprise-contract",
            "graph": "onboarding",
            "category": "enterprise",
            "messages": ["Set up cus_globex's enterprise workspace"],
            "expect": {"tools_required": ["lookup_contract_terms"], "effects": {"workspaces": 1}},
            "rubric": "Creates the workspace in the contract's region.",
        }
    )
    story = Story(task_id=task.id).call("intake", "lookup_customer", {"customer_id": "cus_globex"})
    story.call("classifier", "choose_route", {"route": "standard_setup"})
    story.call("standard_setup", "create_workspace", {"customer_id": "cus_globex", "name": "Main"})
    story.say("standard_setup", "Created.", node="agent")
    assert where(located(story, task=task, effects={"workspaces": 1})) == ("classifier", "route", 1)


def test_failures_are_counted_by_node_and_kind():
    routed = Story().call("supervisor", "ask_knowledge").say("supervisor", "Refunds take 5 days.")
    attempts: list[tuple[Story, dict[str, Any]]] = [
        (good_refund(), {}),
        (good_refund(), {"answer": "All done!"}),
        (good_refund(), {"answer": "Done."}),
        (routed, {"effects": {}}),
    ]
    verdicts = []
    for story, extra in attempts:
        seen = story.observed(**extra)
        verdict = evaluate(REFUND, seen)
        verdict.failure = analysis.locate(REFUND, seen, verdict)
        verdicts.append(verdict)
    table = analysis.error_table(verdicts)
    assert table.rows() == [("supervisor", "unsupported_claim", 2), ("supervisor", "route", 1)]
    assert table.by_kind == {"unsupported_claim": 2, "route": 1}
    assert table.by_node == {"supervisor": 3}
