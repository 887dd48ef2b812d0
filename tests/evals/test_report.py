"""The report (evals/report.py): success overall and per category, pass^k, latency percentiles, tokens and cost per
task, the error table with trace links, chaos results; written as report.md and report.json, and rebuilt from
observed.jsonl by `python -m evals.report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evals import report
from evals.dataset import Task
from evals.records import Observed
from tests.evals.attempts import REFUND, Story, good_refund

STATUS = Task.model_validate(
    {
        "id": "billing-status-initech",
        "graph": "support",
        "category": "lookups",
        "messages": ["What is the billing status of cus_initech?"],
        "expect": {"tools_required": ["check_billing_status"], "facts": ["past due"]},
        "rubric": "Says cus_initech is past due.",
    }
)


def status_attempt(repeat: int, latency_s: float, chaos: str | None = None, duplicated: int = 0) -> Observed:
    story = Story(task_id=STATUS.id, repeat=repeat, chaos=chaos).call("supervisor", "ask_billing")
    story.call("billing", "check_billing_status", {"customer_id": "cus_initech"})
    story.say("supervisor", "cus_initech is past due.")
    story.usage = {"model_calls": 3, "tool_calls": 1, "total_tokens": 300, "cost": 0.002, "models": {"offline": {}}}
    return story.observed(
        answer="cus_initech is past due.", effects={}, latency_s=latency_s, duplicated_effects=duplicated
    )


def refund_attempt(repeat: int, answer: str | None = None) -> Observed:
    story = good_refund()
    story.repeat = repeat
    story.usage = {"model_calls": 5, "tool_calls": 2, "total_tokens": 1000, "cost": 0.004}
    seen = story.observed(latency_s=float(repeat + 2))
    return seen.model_copy(update={"answer": answer}) if answer else seen


@pytest.fixture
def attempts() -> list[Observed]:
    return [
        refund_attempt(0),
        refund_attempt(1),
        refund_attempt(2, answer="All done!"),  # the third repeat of the refund misses its facts
        *(status_attempt(n, latency_s=1.0) for n in range(3)),
        status_attempt(0, latency_s=9.0, chaos="tool_faults"),
        status_attempt(0, latency_s=9.0, chaos="worker_kill", duplicated=1),
    ]


def test_the_summary_counts_success_pass_k_latency_cost_errors_and_chaos(tmp_path: Path, attempts: list[Observed]):
    summary = report.write(tmp_path, [REFUND, STATUS], attempts)
    assert (summary.passed, summary.total, summary.success_rate) == (5, 6, 0.8333)  # chaos attempts apart
    assert summary.by_category["refunds"].model_dump() == {"passed": 2, "total": 3, "success_rate": 0.6667}
    assert summary.by_category["lookups"].success_rate == 1.0
    # τ-bench's pass^k: the refund passed 2 of 3 (pass^1 2/3, pass^2 1/3, pass^3 0), the lookup 3 of 3.
    assert summary.pass_k == {"pass^1": 0.8333, "pass^2": 0.6667, "pass^3": 0.5}
    assert (summary.latency_p50_s, summary.latency_p95_s) == (1.0, 4.0)
    assert summary.tokens_per_task == 650 and summary.cost_per_task == 0.003
    assert summary.errors == [  # every failed attempt, chaos too
        {"node": "supervisor", "kind": "unsupported_claim", "count": 1},
        {"node": "runtime", "kind": "duplicated_effect", "count": 1},
    ]
    assert [c.model_dump() for c in summary.chaos] == [
        {"chaos": "tool_faults", "passed": 1, "total": 1, "success_rate": 1.0, "duplicated_effects": 0},
        {"chaos": "worker_kill", "passed": 0, "total": 1, "success_rate": 0.0, "duplicated_effects": 1},
    ]
    assert summary.duplicated_effects == 1
    refund_row = next(t for t in summary.tasks if t.task_id == REFUND.id)
    assert (refund_row.passed, refund_row.attempts, refund_row.failures) == (2, 3, ["supervisor/unsupported_claim"])


def test_report_json_and_markdown_are_written_next_to_the_observed_attempts(tmp_path: Path, attempts: list[Observed]):
    report.write(tmp_path, [REFUND, STATUS], attempts)
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["summary"]["success_rate"] == 0.8333
    [failed] = [a for a in written["attempts"] if not a["passed"] and a["chaos"] is None]
    assert failed["task_id"] == REFUND.id and failed["repeat"] == 2
    assert failed["failure"]["kind"] == "unsupported_claim"
    assert failed["trace_url"] == "http://langfuse.local/trace/abc123"
    assert {c["name"] for c in failed["checks"] if not c["passed"]} == {"rubric"}
    text = (tmp_path / "report.md").read_text()
    assert "**Success: 83.3 %** (5/6 attempts without chaos; models: offline; judge: facts)" in text
    assert "| pass^3 | 50.0 % |" in text
    assert "| supervisor | unsupported_claim | 1 |" in text
    assert "| refund-partial-acme | 2 | - | supervisor | unsupported_claim |" in text
    assert "[trace](http://langfuse.local/trace/abc123)" in text
    assert "| worker_kill | 0 | 1 | 0.0 % | 1 |" in text


def test_python_m_evals_report_rebuilds_the_reports_from_observed_jsonl(
    tmp_path: Path, attempts: list[Observed], capsys: pytest.CaptureFixture[str]
):
    lines = "".join(seen.model_dump_json() + "\n" for seen in attempts)
    (tmp_path / "observed.jsonl").write_text(lines)
    dataset = tmp_path / "desk.yaml"
    dataset.write_text(yaml.safe_dump([REFUND.model_dump(), STATUS.model_dump()]))
    assert report.main([str(tmp_path), "--dataset", str(dataset)]) == 0
    assert "83.3 % (5/6)" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["passed"] == 5
    assert (tmp_path / "report.md").exists()


def test_attempts_of_a_task_the_dataset_does_not_have_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="refund-partial-acme"):
        report.write(tmp_path, [STATUS], [refund_attempt(0)])
