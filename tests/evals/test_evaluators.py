"""The evaluators over an attempt (evals/evaluators): each check holds for a good attempt and fails, saying why, for
the attempt that breaks it; the rubric judge is the facts check offline and an LLM judge with a configured model."""

from __future__ import annotations

import json

from evals.evaluators import evaluate, facts_judge
from evals.evaluators.rubric import LLMJudge, configured_judge, normalised
from tests.evals.attempts import ANSWER, REFUND, Story, good_refund
from tests.openai_stub import Reply, running_stub


def failed(story: Story, task=REFUND, **observed) -> dict[str, str]:
    verdict = evaluate(task, story.observed(**observed))
    assert verdict.passed is not bool({c.name for c in verdict.failed_checks})
    return {check.name: check.detail for check in verdict.failed_checks}


def test_a_good_attempt_passes_every_check_with_its_metrics():
    verdict = evaluate(REFUND, good_refund().observed())
    assert verdict.passed, verdict.failed_checks
    assert {c.name for c in verdict.checks} == {
        "finished",
        "effects",
        "tools_required",
        "tools_forbidden",
        "approvals",
        "approved_writes",
        "duplicated_effects",
        "budget",
        "guardrails",
        "rubric",
    }
    assert (verdict.metrics.model_calls, verdict.metrics.tool_calls, verdict.metrics.tokens) == (4, 2, 900)
    assert verdict.metrics.latency_s == 1.5


def test_every_desk_table_the_task_does_not_name_must_be_unchanged():
    assert failed(good_refund(), effects={"refunds": 1, "tickets": 1}) == {
        "effects": "tickets: 1 rows added, expected 0"
    }
    assert failed(good_refund(), effects={}) == {"effects": "refunds: 0 rows added, expected 1"}


def test_required_and_forbidden_tools():
    story = Story().call("supervisor", "ask_billing").call("billing", "check_billing_status")
    assert failed(story, effects={})["tools_required"] == "never called: issue_refund"
    story = good_refund().call("billing", "enable_paid_plan", {"customer_id": "cus_acme", "plan": "pro"}, ok=None)
    assert failed(story) == {"tools_forbidden": "called: enable_paid_plan"}


def test_the_number_of_approvals_asked():
    story = good_refund()
    story.call("billing", "send_external_message", ok=None).approval(3, {"type": "reject", "reason": "no"}, "account")
    assert failed(story) == {"approvals": "2 approvals asked, expected 1"}


def test_an_approval_required_tool_may_run_only_after_an_accept_or_edit_of_that_call():
    story = Story().call("billing", "issue_refund", {"amount": 20}).approval(0, {"type": "reject", "reason": "no"})
    assert failed(story, answer=ANSWER)["approved_writes"] == "ran without approval: issue_refund (call_0)"
    no_approval = Story().call("billing", "issue_refund", {"amount": 20})
    assert "ran without approval" in failed(no_approval)["approved_writes"]
    # A reviewer's answer instead of the call: the tool did not run, whatever the message's status.
    responded = Story().call("billing", "issue_refund", result="A reviewer answered instead of running issue_refund: x")
    responded.approval(0, {"type": "respond", "message": "x"})
    assert "approved_writes" not in failed(responded)
    # LangChain's vocabulary, one decision per call of the interrupt, and keel's edit.
    for answer in ({"decisions": [{"type": "approve"}]}, {"type": "edit", "args": {"amount": 10}}):
        story = good_refund()
        story.approvals[0] = story.approvals[0].model_copy(update={"answer": answer})
        assert evaluate(REFUND, story.observed()).passed


def test_duplicated_effects_and_the_runner_not_finishing_fail():
    assert failed(good_refund(), duplicated_effects=1) == {"duplicated_effects": "1 rows written twice"}
    assert failed(good_refund(), error="timed out waiting for the run")["finished"] == "timed out waiting for the run"
    assert failed(good_refund(), status="error")["finished"] == "the last run ended error"


def test_a_run_past_its_budget_without_a_budget_interrupt_fails():
    story = good_refund()
    story.usage = {"model_calls": 201, "tool_calls": 2}  # keel's default: 200 model calls per run
    assert failed(story) == {"budget": "run run-1: model_calls 201 > 200"}
    own = REFUND.model_copy(update={"assistant": {"metadata": {"budget": {"run": {"model_calls": 3}}}}})
    assert failed(good_refund(), task=own) == {"budget": "run run-1: model_calls 4 > 3"}
    # A resumed run carries the spend of the runs before it, and an extension raises the limit.
    story = good_refund()
    story.usage = {"model_calls": 2, "budget": {"carried": {"model_calls": 2}, "extended": {"model_calls": 1}}}
    assert "budget" not in failed(story, task=own)
    paused = good_refund()
    paused.approvals.append(paused.approvals[0].model_copy(update={"value": {"type": "budget"}, "interrupt_id": "b"}))
    assert "budget" not in failed(paused, task=own)


def test_a_guardrail_the_task_expects_must_act():
    task = REFUND.model_copy(update={"expect": REFUND.expect.model_copy(update={"guardrails": ["untrusted_content"]})})
    assert failed(good_refund(), task=task) == {"guardrails": "did not act: untrusted_content"}
    assert failed(good_refund(), task=task, guardrails=["untrusted_content"]) == {}


def test_the_offline_judge_finds_each_fact_case_insensitively_with_numbers_normalised():
    assert (
        normalised("Refunded $1,000.00 and 20.50 on INV_ACME_2026_11") == "refunded $1000 and 20.5 on inv_acme_2026_11"
    )
    check = facts_judge(REFUND, good_refund().observed(answer="Done: INV_acme_2026_11 got a $20 refund."))
    assert check.passed and check.score == 1
    check = facts_judge(REFUND, good_refund().observed(answer="Done: inv_acme_2026_11 got a $2 refund."))
    assert (check.passed, check.detail, check.score) == (False, "the answer does not state: $20.00", 0.5)
    # An id's digits are not a number: 2026 inside inv_acme_2026_11 is not "2026".
    assert normalised("inv_acme_2026_11") == "inv_acme_2026_11"


def test_the_offline_model_gets_the_facts_judge():
    assert configured_judge() is facts_judge


def test_with_a_configured_model_an_llm_judges_the_answer_against_the_rubric(monkeypatch):
    with running_stub() as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("KEEL_MODEL", "judge-model")
        judge = configured_judge()
        assert isinstance(judge, LLMJudge) and judge.name == "llm:judge-model"
        stub.replies = [Reply(tool_calls=[("Grade", {"score": 0.25, "passed": False, "reason": "no amount stated"})])]
        check = judge(REFUND, good_refund().observed())
        assert (check.name, check.passed, check.score, check.detail) == ("rubric", False, 0.25, "no amount stated")
        asked = json.dumps(stub.received[-1].body)
        assert REFUND.rubric in asked and "inv_acme_2026_11" in asked and "issue_refund" in asked
        stub.failures = [400]  # a judge that cannot answer fails its check, saying why, not the whole report
        broken = judge(REFUND, good_refund().observed())
        assert not broken.passed and broken.detail.startswith("the judge failed")
