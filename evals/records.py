"""What the runner observed of one attempt of one task (`Observed`), the one record the evaluators, the error analysis
and the reports read. The runner (evals/runner.py) fills it from keel's HTTP API and the desk; nothing downstream
talks to keel again, so a report can be rebuilt from the JSON alone."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(Record):
    """One node's update, as the run streamed it (`stream_mode="updates"`, `stream_subgraphs=True`): which node, in
    which sub-graph namespace (e.g. ["billing:<task id>"] for a worker), and the messages it wrote (LangChain message
    dicts, as the SDK returns them)."""

    run_id: str
    node: str
    namespace: list[str] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    interrupts: list[dict[str, Any]] = Field(default_factory=list)  # `__interrupt__` values this step raised


class ToolCallSeen(Record):
    """A tool call some agent made, with its result: from the steps, in order."""

    agent: str  # the node (or worker sub-graph) whose model proposed it
    name: str
    args: dict[str, Any]
    call_id: str
    ok: bool | None = None  # None: no result (it waits for an approval, or the run ended first)
    result: str | None = None


class Approval(Record):
    """An approval (or budget) interrupt the task met, and what the scripted reviewer answered."""

    interrupt_id: str
    value: dict[str, Any]
    answer: Any = None  # None: the script had no decision left for it


class RunSeen(Record):
    run_id: str
    thread_id: str
    status: str
    usage: dict[str, Any] = Field(default_factory=dict)
    trace_url: str | None = None
    latency_s: float
    first_event_s: float | None = None


class Observed(Record):
    task_id: str
    repeat: int  # 0-based: which of the k repeats
    chaos: str | None = None  # the disruption active while it ran, if any
    thread_id: str
    runs: list[RunSeen] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    tool_calls: list[ToolCallSeen] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    answer: str = ""  # the last AI message of the thread, as the user got it
    messages: list[dict[str, Any]] = Field(default_factory=list)  # the thread's final messages
    effects: dict[str, int] = Field(default_factory=dict)  # desk rows added per table, for the task's customers
    duplicated_effects: int = 0  # desk rows written beyond the distinct successful write calls (must be 0)
    guardrails: list[str] = Field(default_factory=list)  # guardrails seen acting (nodes/guardrails.py names)
    latency_s: float = 0.0  # the whole task, first message to last run's end
    error: str | None = None  # what kept the runner from finishing the task (HTTP error, timeout), if anything
