"""No-progress detection: an agent going in circles is stopped with an explanation instead of burning its step
limit (and the run's budget). Two signs, both read from the agent's own conversation since the request it works on
(its last human message), so a replay or a resume sees exactly what the first execution saw:

- the same tool with the same arguments asked for more than `Context.max_repeated_calls` times: the tool runner
  does not run it again (the model gets a ToolMessage saying so) and the agent's next turn stops;
- `Context.max_idle_turns` tool-calling turns in a row none of whose results was new (a successful result whose
  text the conversation had not seen yet).

The stop is an AIMessage (the agent's answer, so the run ends normally) marked `response_metadata["guardrail"]`,
reported once as the `no_progress` guardrail by the model node that stops.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from nodes.context import Context
from nodes.guardrails import report

Reason = Literal["repeated_call", "no_new_results"]


@dataclass(frozen=True)
class Stall:
    reason: Reason
    detail: dict[str, Any]  # ids and counts, for the guardrail event and the explanation
    args: Any = None  # the repeated call's arguments: for the explanation only (they may hold message text)


def current_request(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The conversation since the last human message (the request being worked on); all of it without one."""
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return list(messages[last_human + 1 :])


def _key(name: str, args: Any) -> str:
    return json.dumps([name, args], sort_keys=True, default=str)


def times_asked(history: Sequence[AnyMessage], turn: AIMessage, index: int) -> int:
    """How often the request has asked for `turn.tool_calls[index]` (same tool, same arguments), counting it and
    the calls before it in `turn`; `history` is the request's messages before `turn`."""
    call = turn.tool_calls[index]
    wanted = _key(call["name"], call["args"])
    earlier = [c for m in history if isinstance(m, AIMessage) for c in m.tool_calls]
    return sum(_key(c["name"], c["args"]) == wanted for c in [*earlier, *turn.tool_calls[: index + 1]])


def refused_repeat(messages: Sequence[AnyMessage], index: int, limit: int) -> ToolMessage | None:
    """For the tool runner: the reply to call `index` of the last message (the model turn being run) when it asks
    for the same thing more than `limit` times in this request, instead of running it; else None."""
    request = current_request(messages)
    turn = request[-1]
    assert isinstance(turn, AIMessage)
    times = times_asked(request[:-1], turn, index)
    if times <= limit:
        return None
    call = turn.tool_calls[index]
    text = (
        f"Error: {call['name']} was not run: this request already asked for it {limit} times with these same "
        "arguments. Its results are above; answer from them or say what is missing."
    )
    return ToolMessage(content=text, tool_call_id=call["id"] or call["name"], name=call["name"], status="error")


def stalled(messages: Sequence[AnyMessage], context: Context) -> Stall | None:
    """For a model node, before it asks the model again: why the agent should stop now, or None."""
    request = current_request(messages)
    turns = [(i, m) for i, m in enumerate(request) if isinstance(m, AIMessage) and m.tool_calls]
    if not turns:
        return None
    at, last = turns[-1]
    for index, call in enumerate(last.tool_calls):
        times = times_asked(request[:at], last, index)
        if times > context.max_repeated_calls:
            return Stall("repeated_call", {"tool": call["name"], "times": context.max_repeated_calls}, call["args"])
    idle = idle_turns(request, [m for _, m in turns])
    if idle >= context.max_idle_turns:
        return Stall("no_new_results", {"turns": idle})
    return None


def idle_turns(request: Sequence[AnyMessage], turns: Sequence[AIMessage]) -> int:
    """Tool-calling turns in a row, up to the last, whose results brought nothing new (errors are never new)."""
    results = {m.tool_call_id: m for m in request if isinstance(m, ToolMessage)}
    seen: set[str] = set()
    idle = 0
    for turn in turns:
        texts = [
            str(reply.content)
            for call in turn.tool_calls
            if (reply := results.get(call["id"] or call["name"])) is not None and reply.status != "error"
        ]
        new = [text for text in texts if text not in seen]
        seen.update(texts)
        idle = 0 if new else idle + 1
    return idle


def explanation(stall: Stall, messages: Sequence[AnyMessage]) -> AIMessage:
    """The agent's answer when it stops: why, and the last distinct results it got."""
    if stall.reason == "repeated_call":
        detail = stall.detail
        args = json.dumps(stall.args, sort_keys=True, default=str)[:200]
        why = (
            f"I stopped because I kept asking for the same thing: {detail['tool']} with the same arguments ({args}) "
            f"more than {detail['times']} times, so I did not run it again."
        )
    else:
        why = (
            f"I stopped because my last {stall.detail['turns']} steps brought no new information, so I was going in "
            "circles."
        )
    found = list(dict.fromkeys(str(m.content) for m in current_request(messages) if _useful(m)))
    so_far = " So far: " + " | ".join(text[:200] for text in found[-3:]) if found else ""
    return AIMessage(
        content=f"{why}{so_far} A person should take it from here.",
        response_metadata={"guardrail": "no_progress", "reason": stall.reason},
    )


def _useful(message: AnyMessage) -> bool:
    return isinstance(message, ToolMessage) and message.status != "error"


async def stop_if_stalled(messages: Sequence[AnyMessage], context: Context, agent: str) -> AIMessage | None:
    """For a model node: the explaining answer when the agent is stuck (reported as the no_progress guardrail),
    else None. A model node runs once per turn and is not re-run on resume, so the report happens once."""
    stall = stalled(messages, context)
    if stall is None:
        return None
    await report("no_progress", "stopped", {"agent": agent, "reason": stall.reason, **stall.detail})
    return explanation(stall, messages)
