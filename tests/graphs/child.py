"""One graph step in a process of its own: `python -m tests.graphs.child '<json command>'`.

The command names the database, graph (as the working folder's langgraph.json registers it), thread and what
to do ("ask" with a request, "resume" with a value, "continue" after a crash). The child opens its own pool and
saver, runs, and prints the thread's answer, the model's tool calls and pending interrupts as one JSON line.
With "block_on_call": N and "ready_file", the N-th call of create_workspace blocks forever after touching the
file, so the parent can SIGKILL it between two calls."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import tools
from tests.graphs.harness import open_desk, registered


def block_on_call(number: int, ready: Path) -> None:
    spec = tools.TOOLS["create_workspace"]
    calls = 0
    original = spec.run

    async def run(args: Any, call: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == number:
            ready.write_text("between two tool calls")
            await asyncio.Event().wait()  # never set: the parent kills this process here
        return await original(args, call)

    object.__setattr__(spec, "run", run)  # ToolSpec is frozen; this child process is the only user


async def main(command: dict[str, Any]) -> dict[str, Any]:
    if "block_on_call" in command:
        block_on_call(command["block_on_call"], Path(command["ready_file"]))
    async with open_desk(command["url"], registered(command["graph"], Path.cwd() / "langgraph.json")) as desk:
        thread = command["thread"]
        if command["action"] == "ask":
            await desk.ask(thread, command["request"])
        elif command["action"] == "resume":
            await desk.resume(thread, command["value"])
        else:
            await desk.run(thread, None)
        state = await desk.graph.aget_state(desk.config(thread))
        messages = state.values["messages"]
        last = messages[-1]
        return {
            "answer": last.content if last.type == "ai" else None,
            "tool_calls": [call["name"] for m in messages if m.type == "ai" for call in m.tool_calls],
            "interrupts": [{"id": i.id, "value": i.value} for i in state.interrupts],
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1]))), default=str))  # noqa: T201
