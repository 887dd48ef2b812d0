"""Builders of `Observed` attempts for the judge's tests: a task attempt told as the steps a run streamed, with the
tool calls, approvals and desk effects the runner would have recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals.dataset import Task
from evals.records import Approval, Observed, RunSeen, Step, ToolCallSeen

REFUND = Task.model_validate(
    {
        "id": "refund-partial-acme",
        "graph": "support",
        "category": "refunds",
        "customers": ["cus_acme"],
        "messages": ["Refund $20 of invoice inv_acme_2026_11 for cus_acme, they were overcharged"],
        "decisions": [{"type": "accept"}],
        "expect": {
            "effects": {"refunds": 1},
            "tools_required": ["issue_refund"],
            "tools_forbidden": ["enable_paid_plan"],
            "approvals": 1,
            "facts": ["inv_acme_2026_11", "$20.00"],
        },
        "rubric": "Confirms a $20 refund of inv_acme_2026_11 and says nothing else was changed.",
    }
)
ANSWER = "I refunded $20 of invoice inv_acme_2026_11 for cus_acme. Nothing else was changed."


@dataclass
class Story:
    """An attempt being told step by step."""

    task_id: str = REFUND.id
    repeat: int = 0
    chaos: str | None = None
    steps: list[Step] = field(default_factory=list)
    calls: list[ToolCallSeen] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=lambda: {"model_calls": 4, "tool_calls": 2, "total_tokens": 900})

    def say(self, agent: str, text: str, node: str = "agent") -> Story:
        namespace = [] if agent in ("supervisor", "classifier", "intake", "report") else [f"{agent}:task"]
        self.steps.append(
            Step(
                run_id="run-1",
                node=agent if not namespace else node,
                namespace=namespace,
                messages=[{"type": "ai", "content": text, "tool_calls": []}],
            )
        )
        return self

    def call(
        self, agent: str, name: str, args: dict[str, Any] | None = None, ok: bool | None = True, result: str = "{}"
    ) -> Story:
        call_id = f"call_{len(self.calls)}"
        namespace = [] if agent in ("supervisor", "classifier", "intake") else [f"{agent}:task"]
        message = {"type": "ai", "content": "", "tool_calls": [{"id": call_id, "name": name, "args": args or {}}]}
        node = agent if not namespace else "agent"
        self.steps.append(Step(run_id="run-1", node=node, namespace=namespace, messages=[message]))
        self.calls.append(
            ToolCallSeen(
                agent=agent,
                name=name,
                args=args or {},
                call_id=call_id,
                ok=ok,
                result=result if ok is not None else None,
            )
        )
        return self

    def approval(self, call_index: int, answer: Any, agent: str = "billing") -> Story:
        call = self.calls[call_index]
        value = {"tool": call.name, "agent": agent, "tool_call_id": call.call_id, "args": call.args}
        interrupt_id = f"int_{len(self.approvals)}"
        self.steps.append(
            Step(
                run_id="run-1",
                node="approval",
                namespace=[f"{agent}:task"],
                interrupts=[{"id": interrupt_id, "value": value}],
            )
        )
        self.approvals.append(Approval(interrupt_id=interrupt_id, value=value, answer=answer))
        return self

    def observed(self, answer: str = ANSWER, effects: dict[str, int] | None = None, **extra: Any) -> Observed:
        return Observed(
            task_id=self.task_id,
            repeat=self.repeat,
            chaos=self.chaos,
            thread_id="thread-1",
            runs=[
                RunSeen(
                    run_id="run-1",
                    thread_id="thread-1",
                    status=extra.pop("status", "success"),
                    usage=self.usage,
                    trace_url="http://langfuse.local/trace/abc123",
                    latency_s=1.0,
                )
            ],
            steps=self.steps,
            tool_calls=self.calls,
            approvals=self.approvals,
            answer=answer,
            effects={"refunds": 1} if effects is None else effects,
            latency_s=extra.pop("latency_s", 1.5),
            **extra,
        )


def good_refund() -> Story:
    """The refund done right: supervisor -> billing, which asks for approval, gets it, and refunds."""
    story = Story().call("supervisor", "ask_billing", {"request": "refund $20 of inv_acme_2026_11"})
    story.call("billing", "check_billing_status", {"customer_id": "cus_acme"})
    story.call("billing", "issue_refund", {"customer_id": "cus_acme", "invoice_id": "inv_acme_2026_11", "amount": 20})
    story.approval(2, {"type": "accept"})
    story.say("billing", "Refunded $20.")
    story.say("supervisor", ANSWER)
    return story
