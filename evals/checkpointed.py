"""The messages a thread's checkpoints hold, in every namespace (sub-graphs included), read from PostgreSQL.

The runner learns tool calls and their results from the run's stream. A worker killed mid-run can take with it the
events of its last steps that were not stored yet, while those steps' checkpoints were (README, "Workers and
durability"): the retry goes on from the checkpoint and does not run them again, so no event ever carries them.
What the checkpoints hold is what the graph itself knows was done, so the runner's recorder takes these messages
too. A write that ran without its result reaching any checkpoint (the kind a replay would repeat) stays without
one."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.postgres import PostgresSaver

from evals.desk import retrying

MESSAGES = "messages"


@retrying
def messages(url: str, thread_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(agent, message as the stream carries it) for every message in the thread's checkpoints' `messages` and
    their pending writes to it, oldest first; the agent is the sub-graph's node, from the checkpoint namespace ("" for
    the root graph). Other channels are left out, as the recorder leaves them: they can hold tool messages for calls
    that never ran (the onboarding planner's feedback on its plan's steps)."""
    found: list[tuple[str, dict[str, Any]]] = []
    with PostgresSaver.from_conn_string(url) as saver:
        for saved in reversed(list(saver.list({"configurable": {"thread_id": thread_id}}))):
            namespace = saved.config["configurable"].get("checkpoint_ns", "")
            agent = namespace.split("|")[-1].split(":")[0]
            writes = [value for _task, channel, value in saved.pending_writes or [] if channel == MESSAGES]
            for value in [saved.checkpoint["channel_values"].get(MESSAGES, []), *writes]:
                for message in value if isinstance(value, list) else [value]:
                    if isinstance(message, BaseMessage):
                        found.append((agent, message.model_dump()))
    return found
