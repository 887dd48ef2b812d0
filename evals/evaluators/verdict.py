"""What the evaluators say about one attempt: each check with its reason, and the attempt's verdict."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from evals.evaluators.metrics import Metrics


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # effects, tools_required, tools_forbidden, approvals, approved_writes, duplicated_effects, ...
    passed: bool
    detail: str = ""  # why it failed (or, for a judge, its reason)
    score: float | None = None  # a rubric judge's score in [0, 1]


class Failure(BaseModel):
    """Where a failed attempt first went wrong (evals/analysis.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: str  # the graph node (or worker agent) whose output went wrong first
    kind: str  # route, tool_choice, arguments, missed_approval, extra_approval, unsupported_claim, gave_up, unknown
    detail: str
    step: int | None = None  # its index in `Observed.steps`
    trace_url: str | None = None


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    graph: str
    category: str
    repeat: int
    chaos: str | None = None
    passed: bool
    checks: list[Check] = Field(default_factory=list)
    metrics: Metrics
    failure: Failure | None = None

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]
