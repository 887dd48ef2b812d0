"""The desk task suite's data (evals/datasets/*.yaml), checked without running anything: enough tasks on both graphs,
every area of issue 17 and every guardrail covered, and every customer and invoice a task names in the seed."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import get_args

import pytest

from evals.dataset import DatasetError, Task, load
from nodes.guardrails import Guardrail
from tests.process import REPO

SEED = (REPO / "server/db/migrations/0003_desk_seed.sql").read_text()
# The report's rows: one per area the issue lists (approval scripts and guardrails are areas of their own).
CATEGORIES = {
    "lookup",
    "billing_status",
    "refunds",
    "plan_changes",
    "workspaces",
    "knowledge",
    "contracts",
    "multi_intent",
    "clarification",
    "natural_phrasing",
    "prompt_injection",
    "approvals",
    "guardrails",
}
# A guardrail no task can provoke against the shipped desk: its knowledge base holds no injected article. Its graph
# test plants one (tests/graphs/test_untrusted.py).
NOT_PROVOKED = {"injection"}
UNKNOWN_ON_PURPOSE = {"cus_nobody"}  # ids a task names to see them refused


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load()


def _ids(prefix: str, text: str) -> set[str]:
    return set(re.findall(rf"\b{prefix}_[a-z0-9_]*[a-z0-9]", text))


def _text(task: Task) -> str:
    return json.dumps([task.messages, task.decisions, task.expect.facts])


def test_at_least_60_tasks_across_both_graphs(tasks: list[Task]) -> None:
    assert len(tasks) >= 60
    graphs = Counter(t.graph for t in tasks)
    assert set(graphs) == {"support", "onboarding"}
    assert min(graphs.values()) >= 20


def test_every_area_of_the_issue_is_a_category_and_no_other(tasks: list[Task]) -> None:
    assert {t.category for t in tasks} == CATEGORIES


def test_every_guardrail_the_offline_model_can_provoke_is_expected_by_a_task(tasks: list[Task]) -> None:
    covered = {g for t in tasks for g in t.expect.guardrails}
    assert covered == set(get_args(Guardrail)) - NOT_PROVOKED


def test_every_approval_script_is_played(tasks: list[Task]) -> None:
    kinds = set()
    for task in tasks:
        for decision in task.decisions:
            inner = decision.get("decisions", [decision])
            kinds |= {d["type"] for d in inner}
            if len(inner) > 1:
                kinds.add("two at once")
    assert {"accept", "approve", "edit", "reject", "respond", "two at once", "extend", "stop"} <= kinds


def test_customers_and_invoices_named_exist_in_the_seed(tasks: list[Task]) -> None:
    seeded = {prefix: _ids(prefix, SEED) for prefix in ("cus", "inv")}
    for task in tasks:
        assert set(task.customers) <= seeded["cus"], task.id
        named = _ids("cus", _text(task)) - UNKNOWN_ON_PURPOSE
        assert named <= seeded["cus"], task.id
        assert named <= set(task.customers), f"{task.id} names customers it does not declare"
        assert _ids("inv", _text(task)) <= seeded["inv"], task.id


def test_a_task_that_changes_the_desk_declares_its_customers(tasks: list[Task]) -> None:
    assert all(t.customers for t in tasks if any(t.expect.effects.values())), "effects need customers to isolate"


def test_a_duplicate_id_or_an_unknown_tool_is_refused(tmp_path: Path) -> None:
    task = {"id": "a", "graph": "support", "category": "lookup", "messages": ["hi"], "expect": {}, "rubric": "r"}
    twice = tmp_path / "twice.yaml"
    twice.write_text(json.dumps([task, task]))
    with pytest.raises(DatasetError, match="used twice"):
        load([twice])
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(json.dumps([{**task, "expect": {"tools_required": ["drop_tables"]}}]))
    with pytest.raises(DatasetError, match="unknown tools"):
        load([unknown])
