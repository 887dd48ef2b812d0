"""Per-component evals: one node alone, on a labelled set, in-process, with the configured model (offline by default).

- the onboarding classifier (nodes/classifier.py): route accuracy on `routes.yaml`; what intake found comes from the
  desk snapshot `desk.json` (the seeded desk's tool results) and is reported by the same model, as intake would;
- the plan validator (nodes/plan_rules.py): each plan of `plans.yaml` judged valid or invalid as labelled, and an
  invalid one rejected with the fix the label names.

    python -m evals.components [--out DIR]   # prints the tables; with --out, writes components.md and .json"""

from __future__ import annotations

import json
from collections.abc import Set
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

HERE = Path(__file__).parent


class Case(BaseModel):
    """One labelled case and what the component did with it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    expected: str
    got: str
    passed: bool
    detail: str = ""


class ComponentResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component: str
    passed: int
    total: int
    accuracy: float
    cases: list[Case] = Field(default_factory=list)
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)  # expected -> got -> count

    @classmethod
    def of(cls, component: str, cases: list[Case]) -> ComponentResult:
        confusion: dict[str, dict[str, int]] = {}
        for case in cases:
            row = confusion.setdefault(case.expected, {})
            row[case.got] = row.get(case.got, 0) + 1
        passed = sum(case.passed for case in cases)
        accuracy = round(passed / len(cases), 4) if cases else 0.0
        return cls(
            component=component, passed=passed, total=len(cases), accuracy=accuracy, cases=cases, confusion=confusion
        )


class LabelError(ValueError):
    """A labelled file with a case that lacks a field, or has one its eval does not read (a typo, an unquoted comma)."""


def labelled(name: str, required: set[str], optional: Set[str] = frozenset()) -> list[dict[str, Any]]:
    data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise LabelError(f"{name} is a list of labelled cases")
    for n, item in enumerate(data):
        keys = set(item) if isinstance(item, dict) else set()
        if not required <= keys <= required | optional:
            raise LabelError(f"{name}: case {n} has {sorted(keys)}; expected {sorted(required)} (+ {sorted(optional)})")
    return data


def desk() -> dict[str, dict[str, Any]]:
    """The seeded desk's tool results per customer (lookup_customer, check_billing_status, check_admin_permissions)."""
    data: dict[str, dict[str, Any]] = json.loads((HERE / "desk.json").read_text(encoding="utf-8"))
    return data
