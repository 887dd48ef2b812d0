"""The evaluators: what a task attempt (`Observed`) is judged by, against its task (`Task`).

- code checks (`checks.py`): desk effects, tool calls, approvals, duplicated effects, budgets, guardrails, finishing;
- trajectory metrics (`metrics.py`): model and tool calls, tokens, cost, latency;
- a rubric judge (`rubric.py`): an LLM judge with a configured real model, the required-facts check offline.

An attempt passes when every check holds. `evaluate` returns its `Verdict`; the error analysis (evals/analysis.py)
adds where a failed one first went wrong."""

from __future__ import annotations

from evals.dataset import Task
from evals.evaluators.checks import code_checks
from evals.evaluators.metrics import Metrics, metrics
from evals.evaluators.rubric import RubricJudge, facts_judge
from evals.evaluators.verdict import Check, Verdict
from evals.records import Observed

__all__ = ["Check", "Metrics", "RubricJudge", "Verdict", "evaluate", "facts_judge"]


def evaluate(task: Task, observed: Observed, judge: RubricJudge = facts_judge) -> Verdict:
    """Every check of one attempt, its metrics, and whether it passed."""
    checks = [*code_checks(task, observed), judge(task, observed)]
    return Verdict(
        task_id=task.id,
        graph=task.graph,
        category=task.category,
        repeat=observed.repeat,
        chaos=observed.chaos,
        passed=all(check.passed for check in checks),
        checks=checks,
        metrics=metrics(observed),
    )
