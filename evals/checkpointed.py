"""The tool results a thread's checkpoints hold, in every namespace (sub-graphs included), read from PostgreSQL.

The runner learns tool results from the run's stream. A worker killed mid-run can take with it the events of its
last steps that were not stored yet, while those steps' checkpoints were (README, "Workers and durability"): the
retry goes on from the checkpoint and does not run them again, so no event ever carries their results. What the
checkpoints hold is what the graph itself knows was done, so a result found there completes the record of its
call. A write that ran without its result reaching any checkpoint (the kind a replay would repeat) stays without
one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.checkpoint.postgres import PostgresSaver

from evals.desk import retrying
from evals.records import Observed

MESSAGES = "messages"


@dataclass(frozen=True)
class ToolResult:
    agent: str  # the sub-graph's node, from its checkpoint namespace ("" for the root graph)
    name: str
    call_id: str
    ok: bool
    text: str


def _tool_messages(value: Any) -> Iterable[ToolMessage]:
    """The tool messages in a channel's value or a write (a message, or a list of them)."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, ToolMessage):
            yield item


@retrying
def tool_results(url: str, thread_id: str) -> list[ToolResult]:
    """Every tool message in the thread's checkpoints' `messages` and their pending writes to it, once per call,
    oldest first. Other channels are left out, as the stream recorder leaves them: they can hold tool messages for
    calls that never ran (the onboarding planner's feedback on its plan's steps)."""
    found: dict[str, ToolResult] = {}
    with PostgresSaver.from_conn_string(url) as saver:
        for saved in reversed(list(saver.list({"configurable": {"thread_id": thread_id}}))):
            namespace = saved.config["configurable"].get("checkpoint_ns", "")
            agent = namespace.split("|")[-1].split(":")[0]
            writes = [value for _task, channel, value in saved.pending_writes or [] if channel == MESSAGES]
            values = [saved.checkpoint["channel_values"].get(MESSAGES, []), *writes]
            for message in (m for value in values for m in _tool_messages(value)):
                found.setdefault(
                    message.tool_call_id,
                    ToolResult(
                        agent=agent,
                        name=message.name or "",
                        call_id=message.tool_call_id,
                        ok=message.status != "error",
                        text=message.text,
                    ),
                )
    return list(found.values())


def complete(observed: Observed, results: Iterable[ToolResult]) -> None:
    """Give the calls the stream showed without a result the one their checkpoints hold."""
    by_call = {result.call_id: result for result in results}
    for call in observed.tool_calls:
        if call.ok is None and (result := by_call.get(call.call_id)) is not None:
            call.ok, call.result = result.ok, result.text
