"""server/runs/budget.py without a database: the limits a run gets (settings, then its assistant's), and what the
meter counts in each scope (the runs a resume carries, the thread's other runs, extensions)."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import InvalidInput
from server.observability.usage import UsageCollector
from server.runs.budget import RunBudget, assistant_budget, limits_for, own_spend
from server.settings import ModelPrice, RunSettings, Settings, SettingsError


def test_settings_read_json_limits_and_refuse_unknown_ones(monkeypatch: pytest.MonkeyPatch):
    defaults = RunSettings()
    assert defaults.budget_run.set() == {"model_calls": 200, "tool_calls": 400, "dollars": 5.0}
    assert defaults.budget_thread.set() == {"dollars": 50.0}
    monkeypatch.setenv("KEEL_BUDGET_RUN", '{"tokens": 1000, "wall_s": 30}')
    assert RunSettings().budget_run.set() == {"tokens": 1000, "wall_s": 30}
    monkeypatch.setenv("KEEL_BUDGET_THREAD", '{"coffee": 1}')
    with pytest.raises(SettingsError, match=r"KEEL_BUDGET_THREAD"):
        Settings()


def test_an_assistant_replaces_the_limits_it_names_and_null_lifts_one():
    override = assistant_budget({"budget": {"run": {"model_calls": 3, "dollars": None}}}, {})
    assert override == {"run": {"model_calls": 3, "dollars": None}}
    limits = limits_for(RunSettings(), override)
    assert limits == {"run": {"model_calls": 3, "tool_calls": 400}, "thread": {"dollars": 50.0}}
    assert assistant_budget({}, {"budget": {"thread": {"tokens": 10}}}) == {"thread": {"tokens": 10}}
    assert assistant_budget({}, {}) is None


@pytest.mark.parametrize("bad", [{"run": {"model_calls": -1}}, {"runs": {}}, {"run": {"coffee": 1}}, [1]])
def test_an_invalid_assistant_budget_is_refused(bad: Any):
    with pytest.raises(InvalidInput):
        assistant_budget({"budget": bad}, {})


def meter(usage: UsageCollector, **kw: Any) -> RunBudget:
    zero = own_spend({})
    fields: dict[str, Any] = {
        "limits": {"run": {"model_calls": 3, "dollars": 1.0}, "thread": {"model_calls": 10}},
        "carried": zero,
        "thread_before": zero,
        "run_extended": zero,
        "thread_extended": zero,
        "decisions": [],
        "usage": usage,
    }
    return RunBudget(**(fields | kw))


def test_a_resumed_run_counts_the_runs_it_resumes_and_the_thread_counts_its_other_runs():
    usage = UsageCollector({"m": ModelPrice(input=1_000_000, output=0)})  # a dollar per token
    carried = own_spend({"model_calls": 2, "total_tokens": 0, "cost": 0.0})
    budget = meter(usage, carried=carried, thread_before=own_spend({"model_calls": 8}))
    assert budget.exceeded() == []
    usage.model_calls += 1
    usage.add("m", 1, 0)
    reached = budget.exceeded()
    assert [(r["scope"], r["limit"], r["max"], r["spent"]) for r in reached] == [
        ("run", "model_calls", 3, 3),
        ("run", "dollars", 1, 1),
    ]
    shown = budget.snapshot()
    assert shown["left"] == {"run": {"model_calls": 0, "dollars": 0}, "thread": {"model_calls": 1}}
    assert shown["spent"]["thread"]["model_calls"] == 9


def test_extensions_raise_each_scope_and_decisions_are_told_once():
    usage = UsageCollector({})
    usage.model_calls = 3
    extended = own_spend({"model_calls": 2})
    decisions = [
        {"interrupt_id": "i", "decision": "extend", "final_args": {"model_calls": 2}, "reason": None, "decider": "bob"}
    ]
    budget = meter(usage, run_extended=extended, thread_extended=extended, decisions=decisions)
    assert budget.exceeded() == [] and not budget.stopped
    assert budget.snapshot()["limits"]["run"]["model_calls"] == 5
    assert budget.news() == [("extended", {"interrupt_id": "i", "decider": "bob", "by": {"model_calls": 2}})]
    assert budget.news() == []
    assert budget.carry() == {"carried": {}, "extended": {"model_calls": 2.0}}
    stop = [{"interrupt_id": "j", "decision": "stop", "final_args": None, "reason": "enough", "decider": "bob"}]
    assert meter(usage, decisions=stop).stopped
