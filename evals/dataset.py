"""The desk task suite's format: what one task says, read from reviewable YAML files (`evals/datasets/*.yaml`, a
list of tasks each) and checked before anything runs.

A task is a conversation with one of keel's graphs and what a reviewer would check afterwards:

    - id: refund-partial-acme
      graph: support
      category: refunds
      customers: [cus_acme]            # desk customers the task may touch (the runner isolates tasks by them)
      messages:                        # user turns, each sent as its own run once the previous one ended
        - Refund $20 of invoice inv_acme_2026_11 for cus_acme, they were overcharged
      decisions:                       # the reviewer's answers to the approvals, in the order they appear
        - {type: accept}
      expect:
        effects: {refunds: 1}          # desk rows the task adds per table; every desk table not named: unchanged
        tools_required: [issue_refund]
        tools_forbidden: [enable_paid_plan]
        approvals: 1                   # approval interrupts asked (leave out: not checked)
        facts: ["inv_acme_2026_11"]    # what the final answer must state (the offline judge's check)
      rubric: Confirms a $20 refund of inv_acme_2026_11 and says nothing else was changed.

`expect.guardrails` names guardrails that must act (nodes/guardrails.py); `assistant` gives the task an assistant of
its own (`{"context": {...}, "metadata": {"budget": {...}}}`).

A decision is a resume value in keel's vocabulary (accept / edit with args / reject with reason / respond with
message) or LangChain's (`{decisions: [...]}`), exactly what a person would send.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nodes.guardrails import Guardrail
from tools import TOOLS

DATASETS = Path(__file__).parent / "datasets"
# Desk tables a task can change (desk.tool_effects is the ledger of every write, not an effect of its own).
DESK_TABLES = ("customers", "subscriptions", "workspaces", "invoices", "refunds", "tickets", "contracts", "outbox")
Graph = Literal["support", "onboarding"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(Strict):
    effects: dict[str, int] = Field(default_factory=dict)
    tools_required: list[str] = Field(default_factory=list)
    tools_forbidden: list[str] = Field(default_factory=list)
    approvals: int | None = None
    facts: list[str] = Field(default_factory=list)
    guardrails: list[str] = Field(default_factory=list)  # guardrails that must act (nodes/guardrails.py names)

    @field_validator("effects")
    @classmethod
    def _desk_tables(cls, effects: dict[str, int]) -> dict[str, int]:
        if unknown := sorted(set(effects) - set(DESK_TABLES)):
            raise ValueError(f"unknown desk tables {unknown}; tables are {', '.join(DESK_TABLES)}")
        return effects

    @field_validator("guardrails")
    @classmethod
    def _known_guardrails(cls, names: list[str]) -> list[str]:
        if unknown := sorted(set(names) - set(get_args(Guardrail))):
            raise ValueError(f"unknown guardrails {unknown}; guardrails are {', '.join(get_args(Guardrail))}")
        return names

    @field_validator("tools_required", "tools_forbidden")
    @classmethod
    def _known_tools(cls, names: list[str]) -> list[str]:
        if unknown := sorted(set(names) - set(TOOLS)):
            raise ValueError(f"unknown tools {unknown}")
        return names


class Task(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    graph: Graph
    category: str
    customers: list[str] = Field(default_factory=list)
    messages: list[str] = Field(min_length=1)
    decisions: list[Any] = Field(default_factory=list)
    # The task runs on an assistant of its own with these `config`, `context` and `metadata` (e.g. a budget).
    assistant: dict[str, Any] | None = None
    expect: Expect
    rubric: str
    tags: list[str] = Field(default_factory=list)


class DatasetError(ValueError):
    """A dataset file that does not hold valid tasks; says which file and task."""


def load(paths: Iterable[Path] | None = None) -> list[Task]:
    """Every task of the dataset files (all of `DATASETS` by default), in file order; ids unique across files."""
    tasks: list[Task] = []
    for path in sorted(paths) if paths is not None else sorted(DATASETS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list):
            raise DatasetError(f"{path}: a dataset file is a list of tasks")
        for n, item in enumerate(raw):
            try:
                tasks.append(Task.model_validate(item))
            except ValidationError as exc:
                name = item.get("id") if isinstance(item, dict) else None
                raise DatasetError(f"{path}: task {name or n}: {exc}") from None
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise DatasetError(f"task id {task.id!r} is used twice")
        seen.add(task.id)
    return tasks
