"""The tool runner: executes an agent's tool calls and turns every failure into a ToolMessage the model can
act on (unknown tool, invalid arguments, a ToolError, a timeout). Nothing here crashes the graph.

Risk decides the path. read_only and idempotent_write calls run here, one after the other (so a crash
between two writes replays the first with the same idempotency key, which returns its recorded result).
approval_required calls do not run here: those of one model turn go together in one `Send` to the approval node,
so a turn waits on one interrupt (answered by one list of decisions, as LangChain's HumanInTheLoopMiddleware
does); calls in parallel branches are separate turns, so separate interrupts. Calls named in `handoffs` (the
supervisor's `ask_<worker>`) go to that node.

Before any of that, a call asked for too often with the same arguments (nodes/progress.py) or breaking a policy on
its arguments (tools/policies.py, via nodes/policy_gate.py) gets its refusal as its ToolMessage: it does not run,
and no approval is asked for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.callbacks.manager import AsyncCallbackManagerForToolRun
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables.config import ensure_config, get_async_callback_manager_for_config
from langgraph.runtime import ExecutionInfo, Runtime
from langgraph.types import Command, Send
from pydantic import BaseModel, ValidationError

from nodes import faults, untrusted
from nodes.context import Context
from nodes.policy_gate import refusal
from nodes.progress import refused_repeat
from nodes.state import AgentState, ApprovalTask, Delegation, ToolCallDict
from tools import TOOLS
from tools.spec import Risk, ToolCall, ToolError, ToolSpec


def execution(runtime: Runtime[Context]) -> ExecutionInfo:
    """Where this node runs (thread, namespace, task); LangGraph sets it for every task of a graph run."""
    if runtime.execution_info is None:
        raise RuntimeError("tools run inside a LangGraph task; this runtime has no execution info")
    return runtime.execution_info


def idempotency_key(runtime: Runtime[Context], call_id: str) -> str:
    """Stable across replays of the same task: thread, checkpoint namespace, task id and tool-call id."""
    info = execution(runtime)
    parts = [info.thread_id or "", info.checkpoint_ns, info.task_id, call_id]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _error(call: ToolCallDict, text: str) -> ToolMessage:
    return ToolMessage(content=f"Error: {text}", tool_call_id=call["id"], name=call["name"], status="error")


def _expected(schema: type[BaseModel]) -> str:
    fields = schema.model_json_schema().get("properties", {})
    required = set(schema.model_json_schema().get("required", []))
    return ", ".join(
        f"{name} ({prop.get('type') or 'value'}{', required' if name in required else ''}"
        f"{', one of ' + '/'.join(map(str, prop['enum'])) if 'enum' in prop else ''})"
        for name, prop in fields.items()
    )


def validation_problem(spec: ToolSpec, args: dict[str, Any]) -> str | None:
    """None when `args` fit the tool's schema, else what is wrong and what is valid, in one line."""
    try:
        spec.args.model_validate(args)
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return f"invalid arguments for {spec.name}: {wrong}. Expected: {_expected(spec.args)}"
    return None


def allowed_spec(call: ToolCallDict, allowed: Sequence[str]) -> ToolSpec | str:
    """The tool's spec, or why the call cannot run (unknown tool, not this agent's, invalid arguments)."""
    spec = TOOLS.get(call["name"])
    if spec is None or call["name"] not in allowed:
        return f"unknown tool {call['name']!r}. Valid tools for this agent: {', '.join(allowed) or 'none'}"
    return validation_problem(spec, call["args"]) or spec


def tool_context(runtime: Runtime[Context], call: ToolCallDict, agent: str) -> ToolCall:
    """What a tool (or a policy on its arguments) gets besides the arguments."""
    return ToolCall(
        db=runtime.context.db,
        idempotency_key=idempotency_key(runtime, call["id"]),
        thread_id=execution(runtime).thread_id or "",
        agent=agent,
        store=runtime.store,
    )


async def execute(call: ToolCallDict, spec: ToolSpec, runtime: Runtime[Context], agent: str) -> ToolMessage:
    """Run one validated call. Its result (JSON) or its error becomes the ToolMessage."""
    args = spec.args.model_validate(call["args"])
    context = tool_context(runtime, call, agent)
    callbacks = await _report_tool_start(call, spec)
    try:
        # A chaos eval's injected fault fails the call the way a real one would, before the tool (and its write) runs.
        faults.strike(runtime.context.faults, spec.name, context.thread_id, call["id"])
        result = await asyncio.wait_for(spec.run(args, context), timeout=spec.timeout_s)
    except ToolError as exc:
        await callbacks.on_tool_error(exc)
        return _error(call, f"{spec.name} failed: {exc}")
    except TimeoutError as exc:
        await callbacks.on_tool_error(exc)
        return _error(call, f"{spec.name} timed out after {spec.timeout_s:g}s; try again later or ask a person")
    except Exception as exc:
        await callbacks.on_tool_error(exc)
        raise
    content = json.dumps(result, default=str)
    await callbacks.on_tool_end(content)
    message = ToolMessage(content=content, tool_call_id=call["id"], name=call["name"], artifact=result)
    return await untrusted.mark(message, spec, result, agent)


async def _report_tool_start(call: ToolCallDict, spec: ToolSpec) -> AsyncCallbackManagerForToolRun:
    """Tell the run's LangChain callbacks (tracing, metrics) that a tool call starts, as a LangChain tool would."""
    manager = get_async_callback_manager_for_config(ensure_config())
    return await manager.on_tool_start(
        {"name": spec.name, "description": spec.description},
        json.dumps(call["args"], default=str),
        name=spec.name,
        inputs=call["args"],
        tool_call_id=call["id"],
    )


def approval_reason(specs: Sequence[ToolSpec], message: AIMessage) -> str:
    """What the model said with the calls, or else why they wait."""
    said = message.content if isinstance(message.content, str) else ""
    names = ", ".join(dict.fromkeys(spec.name for spec in specs))
    fallback = specs[0].description if len(specs) == 1 else "each needs a person's approval"
    return said.strip() or f"{names} {'is' if len(specs) == 1 else 'are'} approval_required: {fallback}"


def make_tool_runner(*, agent: str, allowed: Sequence[str], back_to: str, handoffs: Mapping[str, str] = {}) -> Any:
    """The tool node of one agent: runs `allowed` tools, routes the rest, then returns to `back_to`."""

    async def run_tools(state: AgentState, runtime: Runtime[Context]) -> Command[str]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage), "the tool runner only follows a model turn with tool calls"
        replies: list[ToolMessage] = []
        sends: list[Send] = []
        risky: list[ToolCallDict] = []
        read = untrusted.provenance(state["messages"])  # outside text this agent has read, if any
        for index, raw in enumerate(last.tool_calls):
            call = ToolCallDict(name=raw["name"], args=raw["args"], id=raw["id"] or raw["name"])
            if repeat := refused_repeat(state["messages"], index, runtime.context.max_repeated_calls):
                replies.append(repeat)  # asked for too often: not run, routed or approved again
                continue
            if call["name"] in handoffs:
                request = str(call["args"].get("request") or "")
                sends.append(
                    Send(
                        handoffs[call["name"]],
                        untrusted.handed_on(
                            Delegation(request=request, tool_call_id=call["id"], tool_name=call["name"]), read
                        ),
                    )
                )
                continue
            spec = allowed_spec(call, allowed)
            if isinstance(spec, str):
                replies.append(_error(call, spec))
            elif refused := await refusal(call, spec, tool_context(runtime, call, agent)):
                replies.append(refused)  # broke a policy on its arguments: not run, no approval asked
            elif spec.risk is Risk.APPROVAL_REQUIRED:
                risky.append(call)
            else:
                replies.append(await execute(call, spec, runtime, agent))
        if risky:
            reason = approval_reason([TOOLS[call["name"]] for call in risky], last)
            await untrusted.flag_approval(read, agent, [call["name"] for call in risky])
            task = untrusted.handed_on(ApprovalTask(calls=risky, agent=agent, reason=reason), read)
            sends.append(Send("approval", task))
        return Command(update={"messages": replies}, goto=sends or back_to)

    return run_tools
