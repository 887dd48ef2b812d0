"""The server's side of budgets (nodes/budget.py): the limits a run has, and the meter that measures its spend.

Limits: `KEEL_BUDGET_RUN` / `KEEL_BUDGET_THREAD`, each limit replaced by the run's assistant's `budget`
(`{"run": {...}, "thread": {...}}` in its metadata, or its context / configurable; resolved when the run is
created, `kwargs["budget"]`), so a caller's own run context cannot raise it.

Spend, per scope:
- run: this run, plus the runs it resumes (each resume is a new keel run, as in LangGraph Server): a run's `usage`
  keeps `budget.carried`, the spend of the runs before it in that chain, so the next resume adds one run's usage;
- thread: this run plus every other run of the thread (the sum of their `usage`).
This run's own spend is live: model calls, tokens and cost (UsageCollector), tool calls, wall time since it first
started (`elapsed_s` across hand-backs).

Extensions are read from the approvals audit (a budget decision is audited as tool `budget`, decision `extend` with
`final_args` = the amounts): a run-scope extension holds for its chain (`budget.extended` in `usage`, plus the
decisions this run carries), a thread-scope one for the thread's later runs too. An extension raises the limit of
every scope that has one for that quantity, so "5 more model calls" are 5 more, whichever scope stopped the run.
A crash-retry of a resumed run reads the same rows, so it keeps them.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.budget import QUANTITIES, SCOPES, Spend
from nodes.context import Context
from server.db.pool import Connection
from server.errors import InvalidInput
from server.observability.usage import UsageCollector
from server.records import StartedRun
from server.runs.store import budget as store
from server.settings import BudgetLimits, RunSettings

Limits = dict[str, dict[str, float]]  # scope -> quantity -> limit


def assistant_budget(metadata: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any] | None:
    """An assistant's `budget` (metadata first, then its context or configurable), checked: 422 when invalid."""
    value = metadata.get("budget", context.get("budget"))
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= set(SCOPES):
        raise InvalidInput("an assistant's budget is {'run': {limits}, 'thread': {limits}}")
    try:
        checked = {scope: BudgetLimits.model_validate(limits).model_dump() for scope, limits in value.items()}
    except ValueError as exc:
        raise InvalidInput(f"an assistant's budget is invalid: {exc}") from None
    # Only what the assistant names replaces the default (a null: no limit for that quantity).
    return {scope: {k: v for k, v in checked[scope].items() if k in value[scope]} for scope in checked}


def limits_for(settings: RunSettings, override: Mapping[str, Any] | None) -> Limits:
    limits: Limits = {"run": settings.budget_run.set(), "thread": settings.budget_thread.set()}
    for scope, replaced in (override or {}).items():
        for name, value in replaced.items():
            if value is None:
                limits[scope].pop(name, None)
            else:
                limits[scope][name] = float(value)
    return limits


def _zero() -> Spend:
    return dict.fromkeys(QUANTITIES, 0.0)


def _add(*spends: Mapping[str, Any]) -> Spend:
    total = _zero()
    for spend in spends:
        for name in QUANTITIES:
            value = spend.get(name)
            if isinstance(value, int | float):
                total[name] += float(value)
    return total


def own_spend(usage: Mapping[str, Any]) -> Spend:
    """A run's own spend, from its `usage` summary."""
    return _add({**usage, "tokens": usage.get("total_tokens", 0), "dollars": usage.get("cost", 0)})


@dataclass
class RunBudget:
    """The `BudgetMeter` of one run attempt."""

    limits: Limits  # without extensions
    carried: Spend  # run scope: the runs this one resumes
    thread_before: Spend  # thread scope: the thread's other runs
    run_extended: Spend  # extensions of the run scope in effect (the chain's)
    thread_extended: Spend  # extensions on the thread
    decisions: Sequence[Mapping[str, Any]]  # the budget decisions this run carries
    usage: UsageCollector
    elapsed_before: float = 0.0  # seconds the run ran before this attempt
    _started: float = field(default_factory=time.monotonic)
    _told: bool = False

    @property
    def stopped(self) -> bool:
        return any(row["decision"] == "stop" for row in self.decisions)

    def own(self) -> Spend:
        summary = self.usage.summary()
        summary["wall_s"] = self.elapsed_before + time.monotonic() - self._started
        return own_spend(summary)

    def _spent(self, own: Spend) -> dict[str, Spend]:
        return {"run": _add(self.carried, own), "thread": _add(self.thread_before, own)}

    def _limits(self) -> Limits:
        extended = {"run": self.run_extended, "thread": self.thread_extended}
        return {
            scope: {name: limit + extended[scope].get(name, 0.0) for name, limit in self.limits[scope].items()}
            for scope in SCOPES
        }

    def exceeded(self) -> list[dict[str, Any]]:
        spent, limits = self._spent(self.own()), self._limits()
        return [
            {"scope": scope, "limit": name, "max": _shown(limit), "spent": _shown(spent[scope][name])}
            for scope in SCOPES
            for name, limit in limits[scope].items()
            if spent[scope][name] >= limit
        ]

    def snapshot(self) -> dict[str, dict[str, Spend]]:
        spent, limits = self._spent(self.own()), self._limits()
        return {
            "spent": {scope: {k: _shown(v) for k, v in spent[scope].items()} for scope in SCOPES},
            "left": {
                scope: {k: _shown(max(limit - spent[scope][k], 0.0)) for k, limit in limits[scope].items()}
                for scope in SCOPES
            },
            "limits": {scope: {k: _shown(v) for k, v in limits[scope].items()} for scope in SCOPES},
        }

    def news(self) -> list[tuple[str, dict[str, Any]]]:
        if self._told:
            return []
        self._told = True
        told: list[tuple[str, dict[str, Any]]] = []
        for row in self.decisions:
            detail = {"interrupt_id": row["interrupt_id"], "decider": row["decider"]}
            if row["decision"] == "extend":
                told.append(("extended", detail | {"by": row["final_args"]}))
            elif row["decision"] == "stop":
                told.append(("stopped", detail | {"reason": row["reason"]}))
        return told

    def carry(self) -> dict[str, Any]:
        """What the run's `usage` keeps for the run that resumes it."""
        return {"carried": _rounded(self.carried), "extended": _rounded(self.run_extended)}


def _shown(value: float) -> float:
    return round(value, 6)


def _rounded(spend: Spend) -> dict[str, float]:
    return {k: _shown(v) for k, v in spend.items() if v}


def metered(context: Any, meter: RunBudget) -> Any:
    """keel's Context for a run with its meter (a graph with a context of its own has no budget)."""
    return dataclasses.replace(context, budget=meter) if isinstance(context, Context) else context


def unloaded(run: StartedRun, limits: Limits, usage: UsageCollector) -> RunBudget:
    """The meter of a run that resumes nothing, when no thread limit is set: nothing to read."""
    zero = _zero()
    return RunBudget(
        limits=limits,
        carried=zero,
        thread_before=zero,
        run_extended=zero,
        thread_extended=zero,
        decisions=[],
        usage=usage,
        elapsed_before=float(run.get("elapsed_s") or 0.0),
    )


async def load(
    conn: Connection, run: StartedRun, limits: Limits, usage: UsageCollector, resumed: uuid.UUID | None
) -> RunBudget:
    """The meter of `run` (`resumed`: the run it answers, when it resumes one)."""
    read = await store.meter_reads(conn, run["thread_id"], run["run_id"], resumed)
    decided = read.decisions
    mine = [row for row in decided if row["run_id"] == run["run_id"]]
    carried, run_extended = _zero(), _zero()
    if resumed is not None:
        chain = read.resumed_usage.get("budget") or {}
        carried = _add(chain.get("carried") or {}, own_spend(read.resumed_usage))
        run_extended = _add(chain.get("extended") or {})
    run_extended = _add(run_extended, *_extensions(mine))
    thread_before = read.thread_spend if limits["thread"] else _zero()
    return RunBudget(
        limits=limits,
        carried=carried,
        thread_before=thread_before,
        run_extended=run_extended,
        thread_extended=_add(*_extensions(decided)),
        decisions=mine,
        usage=usage,
        elapsed_before=float(run.get("elapsed_s") or 0.0),
    )


def _extensions(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [row["final_args"] or {} for row in rows if row["decision"] == "extend"]
