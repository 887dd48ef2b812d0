"""A chat model whose replies the test writes, in the style of pydantic-ai's `FunctionModel`: for tests about a
graph's topology (who delegates to whom, what streams where), not about the offline model's rules.

    def script(messages: list[BaseMessage], turn: Turn) -> AIMessage:
        if "ask_billing" in turn.tools and not turn.results:
            return call("ask_billing", request="status of cus_initech")
        return AIMessage("done")

    models = ScriptedModels(script)   # every role, or ScriptedModels({"router": a, "worker": b})

`turn.tools` are the names of the tools bound for this reply, `turn.results` the ToolMessages since the last
human message. Replies stream too: one chunk per word of the content, then the tool calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from nodes.context import Role
from server.models.offline import ReplyChatModel

_ids = itertools.count(1)


@dataclass(frozen=True)
class Turn:
    """What the model sees besides the messages: the bound tools, and this turn's tool results."""

    tools: tuple[str, ...]
    tool_choice: str | None
    results: tuple[ToolMessage, ...]
    system: str  # the system prompts, joined

    def result(self, name: str) -> ToolMessage | None:
        return next((m for m in self.results if m.name == name), None)


Script = Callable[[list[BaseMessage], Turn], AIMessage]


def call(name: str, /, **args: Any) -> AIMessage:
    """A reply that calls one tool."""
    return calls((name, args))


def calls(*wanted: tuple[str, dict[str, Any]]) -> AIMessage:
    """A reply that calls several tools at once."""
    return AIMessage(
        content="",
        tool_calls=[{"name": n, "args": a, "id": f"call_{next(_ids)}", "type": "tool_call"} for n, a in wanted],
    )


def _turn(messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: str | None) -> Turn:
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return Turn(
        tools=tuple(t["function"]["name"] for t in tools),
        tool_choice=tool_choice,
        results=tuple(m for m in messages[last_human + 1 :] if isinstance(m, ToolMessage)),
        system="\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage)),
    )


class ScriptedChatModel(ReplyChatModel):
    """Replies with whatever `script(messages, turn)` returns; records every turn it was asked for."""

    script: Script
    seen: list[Turn] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        turn = _turn(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        self.seen.append(turn)
        return self.script(messages, turn)


class ScriptedModels:
    """A ModelProvider (nodes.context) that answers every role with a script, or each role with its own."""

    def __init__(self, script: Script | Mapping[Role, Script]) -> None:
        scripts = script if isinstance(script, Mapping) else dict.fromkeys(("router", "worker", "synthesis"), script)
        self.models = {role: ScriptedChatModel(script=s) for role, s in scripts.items()}

    def chat(self, role: Role) -> BaseChatModel:
        return self.models[role]
