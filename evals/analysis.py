"""Error analysis: for each failed attempt, the FIRST node whose output went wrong, found by walking its steps in
order (as the design guide's error analysis does: the earliest upstream mistake, not the symptom at the end), and a
table of failures by node and by kind, with trace links.

Kinds:
- route: the router (support's supervisor, onboarding's classifier) sent the request to the wrong agent, or none;
- tool_choice: an agent never called a tool it needed, or called a forbidden one (or wrote what it should not have);
- arguments: the right tool with wrong arguments (a validation error, an unknown id) that the agent never put right;
- missed_approval / extra_approval: fewer (or a write ran without) / more approvals than the task expects;
- unsupported_claim: the answer lacks required facts, or the rubric judge found claims the tools do not support;
- gave_up: the run stopped (step limit, no progress, a budget stop, an error) before finishing;
- missed_guardrail: a guardrail the task expects did not act;
- duplicated_effect: a write landed twice (chaos);
- unknown: none of the above explains the failed checks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evals.dataset import Task
from evals.evaluators.checks import decision_for, ran
from evals.evaluators.verdict import Failure, Verdict
from evals.records import Observed, Step, ToolCallSeen
from nodes import (
    account,
    billing,
    billing_review,
    checks,
    intake,
    knowledge,
    plan_rules,
    provisioning,
    standard_setup,
    supervisor,
)
from tools import TOOLS
from tools.spec import Risk

KINDS = (
    "route",
    "tool_choice",
    "arguments",
    "missed_approval",
    "extra_approval",
    "unsupported_claim",
    "gave_up",
    "missed_guardrail",
    "duplicated_effect",
    "unknown",
)
# Which kind names a step that two explain: a step that stopped itself explains the facts its answer lacks.
_TIES = (*KINDS[:5], "gave_up", "unsupported_claim", *KINDS[7:])
ROUTERS = {"support": "supervisor", "onboarding": "classifier"}
# Which agents of each graph may call a tool: a required tool none of the reached agents has means a wrong route.
AGENT_TOOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "support": {
        "supervisor": supervisor.TOOLS,
        **{spec.name: spec.tools for spec in (account.SPEC, billing.SPEC, provisioning.SPEC, knowledge.SPEC)},
    },
    "onboarding": {
        "intake": intake.TOOLS,
        "billing_review": billing_review.TOOLS,
        "standard_setup": standard_setup.TOOLS,
        "enterprise_setup": (*plan_rules.PLANNABLE, *(tool for spec in checks.SPECS for tool in spec.tools)),
    },
}
# The tools that add rows to a desk table: a missing row points at them.
WRITERS = {
    "refunds": ("issue_refund",),
    "workspaces": ("create_workspace",),
    "tickets": ("open_ticket",),
    "outbox": ("send_external_message",),
    "invoices": ("enable_paid_plan",),
    "subscriptions": ("enable_paid_plan",),
}
_WRONG_ARGS = re.compile(r"invalid arguments|not found|no such|unknown (customer|invoice|workspace)|does not belong")
_STOPPED = re.compile(r"step limit|I stopped|stopped here")


@dataclass(frozen=True, order=True)
class _Candidate:
    step: int
    kind: str
    node: str
    detail: str


def agent_of(step: Step) -> str:
    """The agent a step belongs to: its worker sub-graph ("billing:<task id>" -> billing), else the node."""
    return step.namespace[0].split(":")[0] if step.namespace else step.node


def _ai_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message.get("tool_calls") or []) if message.get("type") in ("ai", "AIMessageChunk") else []


def call_step(observed: Observed, call_id: str) -> int | None:
    """The step whose model turn proposed the tool call `call_id`."""
    for index, step in enumerate(observed.steps):
        if any(call.get("id") == call_id for m in step.messages for call in _ai_calls(m)):
            return index
    return None


def first_step(observed: Observed, agent: str) -> int | None:
    return next((i for i, step in enumerate(observed.steps) if agent_of(step) == agent), None)


def answer_step(observed: Observed) -> int:
    """The step that wrote the final answer (the last one, when none matches)."""
    for index in range(len(observed.steps) - 1, -1, -1):
        for message in observed.steps[index].messages:
            if message.get("type") == "ai" and not _ai_calls(message) and message.get("content") == observed.answer:
                return index
    return max(len(observed.steps) - 1, 0)


def _node(observed: Observed, index: int | None, fallback: str) -> str:
    return agent_of(observed.steps[index]) if index is not None and index < len(observed.steps) else fallback


def _late(observed: Observed) -> int:
    return len(observed.steps)  # after every step: a failure no step explains sorts last


def _missing_tool(task: Task, observed: Observed, tool: str) -> _Candidate:
    """A needed tool never called: the router's fault if no agent that has it was reached, else that agent's."""
    owners = [agent for agent, tools in AGENT_TOOLS[task.graph].items() if tool in tools]
    reached = [agent for agent in owners if first_step(observed, agent) is not None]
    if not owners:  # the task asks for a tool this graph has no agent for: the task, not a node, is wrong
        return _Candidate(_late(observed), "unknown", task.graph, f"no agent of {task.graph} has {tool}")
    if not reached:
        router = ROUTERS[task.graph]
        at = first_step(observed, router)
        return _Candidate(
            at if at is not None else _late(observed),
            "route",
            router,
            f"{tool} needed one of {', '.join(owners)}; none was reached",
        )
    at = first_step(observed, reached[0])
    return _Candidate(at or 0, "tool_choice", reached[0], f"{reached[0]} never called {tool}")


def _unrecovered_argument_errors(observed: Observed) -> Iterable[_Candidate]:
    for n, call in enumerate(observed.tool_calls):
        if call.ok is not False or not _WRONG_ARGS.search(call.result or ""):
            continue
        later = observed.tool_calls[n + 1 :]
        if any(c.name == call.name and c.agent == call.agent and c.ok for c in later):
            continue  # put right later: not what failed the task
        at = call_step(observed, call.call_id)
        yield _Candidate(
            at if at is not None else _late(observed),
            "arguments",
            call.agent,
            f"{call.name}({call.args}): {(call.result or '')[:160]}",
        )


def _candidates(task: Task, observed: Observed, verdict: Verdict) -> Iterable[_Candidate]:
    failed = {check.name: check for check in verdict.failed_checks}
    late = _late(observed)
    if "tools_required" in failed:
        for tool in task.expect.tools_required:
            if all(call.name != tool for call in observed.tool_calls):
                yield _missing_tool(task, observed, tool)
    if "tools_forbidden" in failed:
        for call in observed.tool_calls:
            if call.name in task.expect.tools_forbidden:
                at = call_step(observed, call.call_id)
                yield _Candidate(
                    at if at is not None else late, "tool_choice", call.agent, f"called forbidden {call.name}"
                )
    if "effects" in failed:
        yield from _effects(task, observed)
    if "approved_writes" in failed:
        for call in _unapproved(observed):
            at = call_step(observed, call.call_id)
            yield _Candidate(
                at if at is not None else late, "missed_approval", call.agent, f"{call.name} ran unapproved"
            )
    if "approvals" in failed:
        yield _approvals(task, observed)
    if failed.keys() & {"effects", "tools_required", "tools_forbidden", "rubric", "approvals"}:
        yield from _unrecovered_argument_errors(observed)
    if "rubric" in failed:
        at = answer_step(observed)
        yield _Candidate(at, "unsupported_claim", _node(observed, at, "answer"), failed["rubric"].detail)
    if "finished" in failed or "budget" in failed:
        yield _gave_up(observed, failed["finished" if "finished" in failed else "budget"].detail)
    if "guardrails" in failed:
        yield _Candidate(late, "missed_guardrail", "guardrails", failed["guardrails"].detail)
    if "duplicated_effects" in failed:
        yield _Candidate(late, "duplicated_effect", "runtime", failed["duplicated_effects"].detail)
    # A step that stopped itself (step limit, no progress, budget stop) is where a task with no earlier mistake failed.
    for index, step in enumerate(observed.steps):
        if any(m.get("type") == "ai" and _STOPPED.search(str(m.get("content") or "")) for m in step.messages):
            yield _Candidate(index, "gave_up", agent_of(step), "stopped before finishing")
            break


def _effects(task: Task, observed: Observed) -> Iterable[_Candidate]:
    late = _late(observed)
    for table, tools in WRITERS.items():
        got, want = observed.effects.get(table, 0), task.expect.effects.get(table, 0)
        calls = [c for c in observed.tool_calls if c.name in tools]
        if got > want:  # wrote what it should not have: the turn that proposed the write
            wrote = next((c for c in calls if ran(c)), None)
            at = call_step(observed, wrote.call_id) if wrote else None
            agent = wrote.agent if wrote else tools[0]
            yield _Candidate(
                at if at is not None else late, "tool_choice", agent, f"{table}: {got} rows, expected {want}"
            )
        elif got < want and not calls:
            yield _missing_tool(task, observed, tools[0])


def _unapproved(observed: Observed) -> list[ToolCallSeen]:
    return [
        call
        for call in observed.tool_calls
        if (spec := TOOLS.get(call.name)) is not None
        and spec.risk is Risk.APPROVAL_REQUIRED
        and ran(call)
        and not any(decision_for(a, call.call_id) in ("accept", "approve", "edit") for a in observed.approvals)
    ]


def _approvals(task: Task, observed: Observed) -> _Candidate:
    asked = [a for a in observed.approvals if a.value.get("type") != "budget"]
    want = task.expect.approvals or 0
    if len(asked) > want:
        extra = asked[want]
        at = next(
            (i for i, s in enumerate(observed.steps) if any(v.get("id") == extra.interrupt_id for v in s.interrupts)),
            None,
        )
        agent = str(extra.value.get("agent") or _node(observed, at, "approval"))
        return _Candidate(
            at if at is not None else _late(observed),
            "extra_approval",
            agent,
            f"{len(asked)} approvals, expected {want}",
        )
    at = answer_step(observed)
    return _Candidate(at, "missed_approval", _node(observed, at, "answer"), f"{len(asked)} approvals, expected {want}")


def _gave_up(observed: Observed, detail: str) -> _Candidate:
    at = max(len(observed.steps) - 1, 0)
    return _Candidate(at, "gave_up", _node(observed, at, "runner"), detail)


def _trace(observed: Observed, step: int | None) -> str | None:
    run_id = observed.steps[step].run_id if step is not None and step < len(observed.steps) else None
    traced = [run for run in observed.runs if run.trace_url]
    return next((run.trace_url for run in traced if run.run_id == run_id), traced[0].trace_url if traced else None)


def locate(task: Task, observed: Observed, verdict: Verdict) -> Failure | None:
    """Where a failed attempt first went wrong; None for a passed one."""
    if verdict.passed:
        return None
    found = sorted(_candidates(task, observed, verdict), key=lambda c: (c.step, _TIES.index(c.kind)))
    if not found:
        details = "; ".join(f"{c.name}: {c.detail}" for c in verdict.failed_checks)
        return Failure(node="?", kind="unknown", detail=details, trace_url=_trace(observed, None))
    first = found[0]
    step = first.step if first.step < len(observed.steps) else None
    return Failure(node=first.node, kind=first.kind, detail=first.detail, step=step, trace_url=_trace(observed, step))


@dataclass(frozen=True)
class ErrorTable:
    """Failures counted by node and kind, each cell with the failures it counts."""

    counts: Counter[tuple[str, str]]
    by_kind: Counter[str]
    by_node: Counter[str]

    def rows(self) -> list[tuple[str, str, int]]:
        return [(node, kind, n) for (node, kind), n in self.counts.most_common()]


def error_table(verdicts: Iterable[Verdict]) -> ErrorTable:
    failures = [v.failure for v in verdicts if v.failure is not None]
    return ErrorTable(
        counts=Counter((f.node, f.kind) for f in failures),
        by_kind=Counter(f.kind for f in failures),
        by_node=Counter(f.node for f in failures),
    )
