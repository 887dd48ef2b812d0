"""What an agent declares: its name, the node function, what it is for, the tools it may call, the words
that send work its way, and how its model call is retried. Agents are data; graphs are built from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.types import RetryPolicy

from nodes.context import Role

# Model calls fail transiently (429, 5xx, timeouts); a node re-run is safe because it writes nothing itself.
MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.5)


@dataclass(frozen=True, kw_only=True)
class NodeSpec:
    name: str  # the node's name in the graph, and the agent named in approval payloads
    fn: Callable[..., Any]  # the node function: (state, runtime: Runtime[Context]) -> update or Command
    description: str  # what the agent does: shown to the supervisor (and to people reading the graph)
    tools: tuple[str, ...] = ()  # the tool allowlist: names in tools.TOOLS this agent may call
    keywords: tuple[str, ...] = ()  # request words that route work here (the supervisor's prompt lists them)
    role: Role = "worker"  # which model the agent uses (Context.models.chat(role))
    retry: RetryPolicy | None = MODEL_RETRY
