"""Budgets that pause for a person: the gate keel's model-calling nodes pass before each model call.

A budget limits, per run and per thread, model calls, tokens, dollars, tool calls and wall time (seconds). The
server measures the spend and knows the limits (`BudgetMeter`, on `Context.budget`; None: no budget, as for a
graph built directly in a test). Before a model call a node asks `gate`; at a limit it raises a real LangGraph
`interrupt()` whose value says which limit, what was spent and what is left, per scope:

    {"type": "budget", "exceeded": [{"scope": "run", "limit": "model_calls", "max": 3, "spent": 3}],
     "spent": {"run": {...}, "thread": {...}}, "left": {"run": {...}, "thread": {...}},
     "limits": {"run": {...}, "thread": {...}}, "agent": "billing", "description": "...", "error": None,
     "permission": "approvals:decide", "requested_by": "alice"}

A person answers it with a resume (the API checks the answer and the decider, and audits it):

    {"type": "extend", "by": {"model_calls": 5, "dollars": 0.5}}   5 more model calls and 50 cents more
    {"type": "stop", "reason": "..."}                              end the run with what was found so far

An extension is counted by the server, not here: it reads the decisions from the audit rows of the runs that carry
them (so a crash-retry of the resumed run keeps them), and the meter's limits include them from the run's start.
So on resume the node passes the gate without reading the answer; only an extension that still leaves a limit
reached asks again (with `error` saying so). A stop is known to the meter the same way: every gate of that run
then says "stop" without asking again, and the node ends with `stop_answer` instead of calling the model.

Each occurrence is reported once (nodes/guardrails.py): "paused" when an interrupt is raised (not when a re-run
node gets its answer back), "extended" and "stopped" at the first gate of the run carrying the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, TypeGuard

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import CONFIG_KEY_SCRATCHPAD
from langgraph.types import interrupt

from nodes.approval import requester
from nodes.guardrails import report

Quantity = Literal["model_calls", "tokens", "dollars", "tool_calls", "wall_s"]
QUANTITIES: tuple[Quantity, ...] = ("model_calls", "tokens", "dollars", "tool_calls", "wall_s")
COUNTS = frozenset({"model_calls", "tokens", "tool_calls"})  # whole numbers; dollars and wall_s are not
Scope = Literal["run", "thread"]
SCOPES: tuple[Scope, ...] = ("run", "thread")
PERMISSION = "approvals:decide"  # who may answer a budget interrupt (as for approvals)
Spend = dict[str, float]  # quantity -> amount


class BudgetMeter(Protocol):
    """What the server measures for one run (server/runs/budget.py)."""

    @property
    def stopped(self) -> bool:
        """A person answered "stop" to this run's budget interrupt."""
        ...

    def exceeded(self) -> list[dict[str, Any]]:
        """Each limit reached now: {"scope", "limit", "max", "spent"}; empty when the run may go on."""
        ...

    def snapshot(self) -> dict[str, dict[str, Spend]]:
        """{"spent": {scope: spend}, "left": {scope: spend}, "limits": {scope: spend}} (limited quantities only)."""
        ...

    def news(self) -> list[tuple[str, dict[str, Any]]]:
        """The decisions this run carries, as (action, detail) to report, each once per run: then empty."""
        ...


def is_budget(value: Any) -> TypeGuard[dict[str, Any]]:
    """True for the value of a budget interrupt (`payload`)."""
    return isinstance(value, dict) and value.get("type") == "budget" and isinstance(value.get("exceeded"), list)


def payload(
    meter: BudgetMeter, reached: list[dict[str, Any]], agent: str, error: str | None, by: str
) -> dict[str, Any]:
    shown = meter.snapshot()
    names = ", ".join(f"{r['scope']} {r['limit']} ({_amount(r['spent'])} of {_amount(r['max'])})" for r in reached)
    return {
        "type": "budget",
        "exceeded": reached,
        "spent": shown["spent"],
        "left": shown["left"],
        "limits": shown["limits"],
        "agent": agent,
        "description": f"Budget reached: {names}. Extend it (by how much) or stop the run with what it found so far.",
        "error": error,
        "permission": PERMISSION,
        "requested_by": by,
    }


def _amount(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def answer_problem(answer: Any, value: Mapping[str, Any] | None = None) -> str | None:
    """None when `answer` is a valid answer to a budget interrupt (`value`, when given: an extension must raise
    every limit reached), else what is wrong with it (the API's 422, or the next interrupt's `error`)."""
    expected = "{'type': 'extend', 'by': {'model_calls': 5, ...}} or {'type': 'stop', 'reason': '...'}"
    if not isinstance(answer, dict) or answer.get("type") not in ("extend", "stop"):
        return f"invalid budget answer {answer!r}: expected {expected}"
    if answer["type"] == "stop":
        if stray := sorted(str(key) for key in answer if key not in ("type", "reason")):
            return f"a stop takes only a 'reason', not {', '.join(stray)}"
        if answer.get("reason") is not None and not isinstance(answer["reason"], str):
            return "a stop's reason is text"
        return None
    if stray := sorted(str(key) for key in answer if key not in ("type", "by")):
        return f"an extend takes only 'by', not {', '.join(stray)}"
    by = answer.get("by")
    if not isinstance(by, dict) or not by:
        return f"an extend needs 'by': how much more of each limit, e.g. {{'model_calls': 5}} ({', '.join(QUANTITIES)})"
    for name, amount in by.items():
        if name not in QUANTITIES:
            return f"an extend cannot raise {name!r}; limits are {', '.join(QUANTITIES)}"
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            return f"an extend raises {name} by a positive number, not {amount!r}"
        if name in COUNTS and not float(amount).is_integer():
            return f"an extend raises {name} by a whole number, not {amount!r}"
    if value is not None:
        reached = {str(r.get("limit")) for r in value.get("exceeded", []) if isinstance(r, dict)}
        if missing := sorted(reached - set(by)):
            return f"the limits reached are {', '.join(sorted(reached))}: an extend must raise {', '.join(missing)} too"
    return None


def _answered(config: RunnableConfig, index: int) -> bool:
    """Whether the `index`-th `interrupt()` of this node returns a resume value instead of pausing (LangGraph keeps a
    task's resume values in its scratchpad): "paused" is reported only for an interrupt that pauses."""
    scratchpad = (config.get("configurable") or {}).get(CONFIG_KEY_SCRATCHPAD)
    if scratchpad is None:
        return False
    resume = scratchpad.resume
    return index < len(resume) or (index == len(resume) and scratchpad.get_null_resume(False) is not None)


async def gate(meter: BudgetMeter | None, config: RunnableConfig, agent: str) -> bool:
    """Call before a model call. True: a person stopped the run, so answer with `stop_answer` instead. Pauses
    (interrupts) while a limit is reached."""
    if meter is None:
        return False
    for action, detail in meter.news():
        await report("budget", action, detail)
    if meter.stopped:
        return True
    error: str | None = None
    asked = 0
    while reached := meter.exceeded():
        value = payload(meter, reached, agent, error, requester(config))
        if not _answered(config, asked):
            await report("budget", "paused", {"agent": agent, "exceeded": reached})
        answer = interrupt(value)
        asked += 1
        if problem := answer_problem(answer):
            error = problem
        elif answer["type"] == "stop":  # the server's meter knows already; any other learns it here
            return True
        else:
            names = ", ".join(f"{r['scope']} {r['limit']}" for r in reached)
            error = f"after the extension these limits are still reached: {names}; extend them further, or stop"
    return False


def agent_of(config: RunnableConfig) -> str:
    """Which agent a node runs for: the parent node of an agent loop's sub-graph (a worker, e.g. `billing`), else
    the node itself."""
    metadata = config.get("metadata") or {}
    names = [part.split(":")[0] for part in str(metadata.get("langgraph_checkpoint_ns") or "").split("|") if part]
    return names[-2] if len(names) > 1 else str(metadata.get("langgraph_node") or "")


def stop_answer(messages: Sequence[Any], meter: BudgetMeter | None) -> AIMessage:
    """The honest last answer of a run a person stopped at its budget: what was spent, and what was found."""
    found = [m.content for m in messages if isinstance(m, ToolMessage)]
    so_far = " So far: " + " | ".join(str(f)[:200] for f in found[-3:]) if found else " Nothing was found yet."
    spent = ""
    if meter is not None:
        run = meter.snapshot()["spent"].get("run", {})
        spent = " (spent: " + ", ".join(f"{k} {_amount(v)}" for k, v in run.items()) + ")" if run else ""
    return AIMessage(
        content=f"I stopped here: this request reached its budget and a person chose to stop{spent}.{so_far}"
    )
