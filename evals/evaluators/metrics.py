"""Trajectory metrics of one attempt, from its runs' `usage` (server/observability/usage.py) and the runner's clock."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from evals.records import Observed


class Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_calls: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost: float = 0.0  # US dollars, as KEEL_PRICES prices them (0 for the offline model)
    latency_s: float = 0.0  # the whole task, first message to the last run's end
    runs: int = 0


def _number(usage: dict[str, Any], name: str) -> float:
    value = usage.get(name, 0)
    return float(value) if isinstance(value, int | float) else 0.0


def metrics(observed: Observed) -> Metrics:
    usages = [run.usage for run in observed.runs]
    return Metrics(
        model_calls=int(sum(_number(u, "model_calls") for u in usages)),
        # Usage counts the calls that ran; the runner saw the proposed ones too (refused, awaiting approval).
        tool_calls=int(sum(_number(u, "tool_calls") for u in usages)) or len(observed.tool_calls),
        tokens=int(sum(_number(u, "total_tokens") for u in usages)),
        cost=round(sum(_number(u, "cost") for u in usages), 8),
        latency_s=observed.latency_s,
        runs=len(observed.runs),
    )
