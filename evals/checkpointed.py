"""The tool calls and results a thread's checkpoints hold, in every namespace (sub-graphs included), read from
PostgreSQL.

The runner learns tool calls and their results from the run's stream. A worker killed mid-run can take with it the
events of its last steps that were not stored yet, while those steps' checkpoints were (README, "Workers and
durability"): the retry goes on from the checkpoint and does not run them again, so no event ever carries them.
What the checkpoints hold is what the graph itself knows was done, so it completes the record. A write that ran
without its result reaching any checkpoint (the kind a replay would repeat) stays without one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.postgres import PostgresSaver

from evals.desk import retrying
from evals.records import Observed, ToolCallSeen

MESSAGES = "messages"


@dataclass
class CallFound:
    """A tool call a checkpoint's `messages` holds (from its AI message), with its result when one is there too."""

    agent: str  # the sub-graph's node, from its checkpoint namespace ("" for the root graph)
    name: str
    call_id: str
    args: dict[str, Any] = field(default_factory=dict)
    ok: bool | None = None
    text: str | None = None


@retrying
def tool_calls(url: str, thread_id: str) -> list[CallFound]:
    """Every tool call in the thread's checkpoints' `messages` and their pending writes to it, with its result, once
    per call, oldest first: what the stream recorder would have made of those messages. Other channels are left out,
    as the recorder leaves them: they can hold tool messages for calls that never ran (the onboarding planner's
    feedback on its plan's steps)."""
    found: dict[str, CallFound] = {}
    with PostgresSaver.from_conn_string(url) as saver:
        for saved in reversed(list(saver.list({"configurable": {"thread_id": thread_id}}))):
            namespace = saved.config["configurable"].get("checkpoint_ns", "")
            agent = namespace.split("|")[-1].split(":")[0]
            writes = [value for _task, channel, value in saved.pending_writes or [] if channel == MESSAGES]
            for value in [saved.checkpoint["channel_values"].get(MESSAGES, []), *writes]:
                for message in value if isinstance(value, list) else [value]:
                    _take(found, agent, message)
    return list(found.values())


def _take(found: dict[str, CallFound], agent: str, message: Any) -> None:
    if isinstance(message, AIMessage):
        for proposed in message.tool_calls:
            if proposed["id"]:
                found.setdefault(
                    proposed["id"], CallFound(agent, proposed["name"], proposed["id"], dict(proposed["args"]))
                )
    elif isinstance(message, ToolMessage) and (call := found.get(message.tool_call_id)) and call.ok is None:
        call.ok, call.text = message.status != "error", message.text


def complete(observed: Observed, found: Iterable[CallFound]) -> None:
    """Give the calls the stream showed without a result the one their checkpoints hold, and add the calls it did
    not show at all (in the order the checkpoints hold them, after the ones it showed)."""
    seen = {call.call_id: call for call in observed.tool_calls}
    for call in found:
        if (shown := seen.get(call.call_id)) is None:
            observed.tool_calls.append(
                ToolCallSeen(
                    agent=call.agent, name=call.name, args=call.args, call_id=call.call_id, ok=call.ok, result=call.text
                )
            )
        elif shown.ok is None and call.ok is not None:
            shown.ok, shown.result = call.ok, call.text
