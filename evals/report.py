"""The eval report: every attempt judged (evals/evaluators), failures located (evals/analysis.py), and the results
written next to the runner's `observed.jsonl` as `report.md` (for people) and `report.json` (for tools and
`python -m evals.compare`).

    python -m evals.report evals/results/<stamp>     # rebuild both from observed.jsonl

Success is counted over the attempts without chaos (what the CI gate reads); attempts under a disruption are
reported apart, with their duplicated effects (which must be 0)."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evals import analysis, langfuse_sync
from evals.dataset import Task, load
from evals.evaluators import RubricJudge, Verdict, evaluate
from evals.evaluators.rubric import configured_judge
from evals.records import Observed

OBSERVED = "observed.jsonl"


class Rate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: int
    total: int
    success_rate: float


class TaskRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    category: str
    passed: int
    attempts: int
    tokens: float  # mean per attempt
    cost: float  # mean per attempt, US dollars
    latency_s: float  # mean per attempt
    failures: list[str] = Field(default_factory=list)  # "node/kind" of each failed attempt


class ChaosRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chaos: str
    passed: int
    total: int
    success_rate: float
    duplicated_effects: int


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success_rate: float  # over the attempts without chaos
    passed: int
    total: int
    judge: str  # "facts" (offline) or the LLM judge's model
    models: list[str]  # the chat models the runs used (from their usage), e.g. ["offline"]
    by_category: dict[str, Rate]
    pass_k: dict[str, float]  # "pass^1" .. "pass^k" (τ-bench: a task counts for k only if k repeats all pass)
    latency_p50_s: float
    latency_p95_s: float
    tokens_per_task: float
    cost_per_task: float
    model_calls_per_task: float
    tool_calls_per_task: float
    errors: list[dict[str, Any]]  # the error table: node, kind, count
    chaos: list[ChaosRow]
    duplicated_effects: int  # over every attempt (must be 0)
    tasks: list[TaskRow]


def read_observed(results_dir: Path) -> list[Observed]:
    lines = (results_dir / OBSERVED).read_text(encoding="utf-8").splitlines()
    return [Observed.model_validate_json(line) for line in lines if line.strip()]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def pass_hat_k(outcomes: dict[str, list[bool]]) -> dict[str, float]:
    """τ-bench's pass^k for k = 1 .. the fewest repeats of any task: per task C(successes, k) / C(trials, k),
    averaged over tasks (the chance that k attempts drawn from its trials all pass)."""
    if not outcomes:
        return {}
    most = min(len(trials) for trials in outcomes.values())
    return {
        f"pass^{k}": round(statistics.fmean(math.comb(sum(t), k) / math.comb(len(t), k) for t in outcomes.values()), 4)
        for k in range(1, most + 1)
    }


def _rate(verdicts: Sequence[Verdict]) -> Rate:
    passed = sum(v.passed for v in verdicts)
    return Rate(passed=passed, total=len(verdicts), success_rate=round(passed / len(verdicts), 4) if verdicts else 0.0)


def judge_all(
    tasks: Sequence[Task], observed: Sequence[Observed], judge: RubricJudge | None = None
) -> list[tuple[Task, Observed, Verdict]]:
    """Each attempt with its task and verdict (failure located); attempts of unknown tasks are an error."""
    by_id = {task.id: task for task in tasks}
    if unknown := sorted({o.task_id for o in observed} - set(by_id)):
        raise ValueError(f"observed attempts of tasks not in the dataset: {', '.join(unknown)}")
    judge = judge or configured_judge()
    judged = []
    for seen in observed:
        task = by_id[seen.task_id]
        verdict = evaluate(task, seen, judge)
        verdict.failure = analysis.locate(task, seen, verdict)
        judged.append((task, seen, verdict))
    return judged


def summarise(judged: Sequence[tuple[Task, Observed, Verdict]], judge_name: str) -> Summary:
    verdicts = [v for _, _, v in judged]
    calm = [v for v in verdicts if v.chaos is None] or verdicts  # a chaos-only run is judged on what it has
    overall = _rate(calm)
    categories: dict[str, list[Verdict]] = defaultdict(list)
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for verdict in calm:
        categories[verdict.category].append(verdict)
        outcomes[verdict.task_id].append(verdict.passed)
    chaos: dict[str, list[tuple[Observed, Verdict]]] = defaultdict(list)
    for _, seen, verdict in judged:
        if seen.chaos is not None:
            chaos[seen.chaos].append((seen, verdict))
    per_task: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in calm:
        per_task[verdict.task_id].append(verdict)
    table = analysis.error_table(verdicts)
    return Summary(
        success_rate=overall.success_rate,
        passed=overall.passed,
        total=overall.total,
        judge=judge_name,
        models=sorted({name for _, seen, _ in judged for run in seen.runs for name in run.usage.get("models") or {}}),
        by_category={name: _rate(group) for name, group in sorted(categories.items())},
        pass_k=pass_hat_k(outcomes),
        latency_p50_s=round(percentile([v.metrics.latency_s for v in calm], 50), 3),
        latency_p95_s=round(percentile([v.metrics.latency_s for v in calm], 95), 3),
        tokens_per_task=_mean(v.metrics.tokens for v in calm),
        cost_per_task=_mean((v.metrics.cost for v in calm), 6),
        model_calls_per_task=_mean(v.metrics.model_calls for v in calm),
        tool_calls_per_task=_mean(v.metrics.tool_calls for v in calm),
        errors=[{"node": node, "kind": kind, "count": n} for node, kind, n in table.rows()],
        chaos=[
            ChaosRow(
                chaos=name,
                passed=sum(v.passed for _, v in group),
                total=len(group),
                success_rate=round(sum(v.passed for _, v in group) / len(group), 4),
                duplicated_effects=sum(o.duplicated_effects for o, _ in group),
            )
            for name, group in sorted(chaos.items())
        ],
        duplicated_effects=sum(seen.duplicated_effects for _, seen, _ in judged),
        tasks=[
            TaskRow(
                task_id=task_id,
                category=group[0].category,
                passed=sum(v.passed for v in group),
                attempts=len(group),
                tokens=_mean(v.metrics.tokens for v in group),
                cost=_mean((v.metrics.cost for v in group), 6),
                latency_s=_mean(v.metrics.latency_s for v in group),
                failures=[f"{v.failure.node}/{v.failure.kind}" for v in group if v.failure],
            )
            for task_id, group in per_task.items()
        ],
    )


def _mean(values: Any, digits: int = 3) -> float:
    listed = [float(v) for v in values]
    return round(statistics.fmean(listed), digits) if listed else 0.0


def write(results_dir: Path, tasks: list[Task], observed: list[Observed], judge: RubricJudge | None = None) -> Summary:
    """Judge every attempt and write `report.md` and `report.json` to `results_dir`; with Langfuse configured, post
    the dataset and each attempt's scores too. Returns the summary (the CI gate reads `success_rate`)."""
    judge = judge or configured_judge()
    judged = judge_all(tasks, observed, judge)
    summary = summarise(judged, judge_name=getattr(judge, "name", "facts"))
    results_dir.mkdir(parents=True, exist_ok=True)
    attempts = [
        {
            "task_id": seen.task_id,
            "repeat": seen.repeat,
            "chaos": seen.chaos,
            "thread_id": seen.thread_id,
            "trace_url": next((run.trace_url for run in seen.runs if run.trace_url), None),
            **verdict.model_dump(mode="json", exclude={"task_id", "repeat", "chaos"}),
        }
        for _, seen, verdict in judged
    ]
    report = {"summary": summary.model_dump(mode="json"), "attempts": attempts}
    (results_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (results_dir / "report.md").write_text(markdown(summary, judged), encoding="utf-8")
    langfuse_sync.post_if_configured(tasks, judged)
    return summary


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def markdown(summary: Summary, judged: Sequence[tuple[Task, Observed, Verdict]]) -> str:
    lines = [
        "# Eval report",
        "",
        f"**Success: {_pct(summary.success_rate)}** ({summary.passed}/{summary.total} attempts without chaos; "
        f"models: {', '.join(summary.models) or 'unknown'}; judge: {summary.judge})",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {_pct(value)} |" for name, value in summary.pass_k.items()),
        f"| latency p50 / p95 | {summary.latency_p50_s:g} s / {summary.latency_p95_s:g} s |",
        f"| tokens per task | {summary.tokens_per_task:g} |",
        f"| cost per task | ${summary.cost_per_task:g} |",
        f"| model calls / tool calls per task | {summary.model_calls_per_task:g} / {summary.tool_calls_per_task:g} |",
        f"| duplicated effects | {summary.duplicated_effects} |",
        "",
        "## By category",
        "",
        "| category | passed | total | success |",
        "|---|---|---|---|",
        *(f"| {name} | {r.passed} | {r.total} | {_pct(r.success_rate)} |" for name, r in summary.by_category.items()),
        "",
        "## Errors: where failed attempts first went wrong",
        "",
    ]
    if summary.errors:
        lines += ["| node | kind | count |", "|---|---|---|"]
        lines += [f"| {row['node']} | {row['kind']} | {row['count']} |" for row in summary.errors]
        lines += ["", "| task | repeat | chaos | node | kind | what | trace |", "|---|---|---|---|---|---|---|"]
        for _, seen, verdict in judged:
            if failure := verdict.failure:
                link = f"[trace]({failure.trace_url})" if failure.trace_url else "-"
                what = failure.detail.replace("|", "\\|").replace("\n", " ")[:200]
                lines.append(
                    f"| {seen.task_id} | {seen.repeat} | {seen.chaos or '-'} | {failure.node} | {failure.kind} "
                    f"| {what} | {link} |"
                )
    else:
        lines.append("No failures.")
    if summary.chaos:
        lines += [
            "",
            "## Chaos",
            "",
            "| disruption | passed | total | success | duplicated effects |",
            "|---|---|---|---|---|",
            *(
                f"| {c.chaos} | {c.passed} | {c.total} | {_pct(c.success_rate)} | {c.duplicated_effects} |"
                for c in summary.chaos
            ),
        ]
    lines += [
        "",
        "## Tasks",
        "",
        "| task | category | passed | tokens | cost | latency | failures |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {t.task_id} | {t.category} | {t.passed}/{t.attempts} | {t.tokens:g} | ${t.cost:g} | {t.latency_s:g} s "
            f"| {', '.join(t.failures) or '-'} |"
            for t in summary.tasks
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", type=Path, help="a folder holding the runner's observed.jsonl")
    parser.add_argument(
        "--dataset", type=Path, action="append", help="a dataset file the attempts come from (default: every one)"
    )
    args = parser.parse_args(argv)
    observed = read_observed(args.results_dir)
    summary = write(args.results_dir, load(args.dataset), observed)
    print(f"{_pct(summary.success_rate)} ({summary.passed}/{summary.total}); {args.results_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
