"""Item 4: resume latency. The `ask` graph stops at `interrupt()`; the client resumes it with
`command={"resume": ...}` through `runs.stream` and we time the request to the first event after `metadata`,
and to the end of the stream."""

from __future__ import annotations

import time
from typing import Any

from langgraph_sdk import get_client

from bench.harness import latency_summary


async def measure(base_url: str, *, repeats: int) -> dict[str, Any]:
    first_event: list[float] = []
    whole: list[float] = []
    async with get_client(url=base_url, timeout=60) as client:
        for i in range(repeats + 5):  # the first five warm up
            thread = await client.threads.create()
            await client.runs.wait(thread["thread_id"], "ask", input={"question": "ship it?"})
            start = time.perf_counter()
            first: float | None = None
            answer: Any = None
            async for part in client.runs.stream(
                thread["thread_id"], "ask", command={"resume": "yes"}, stream_mode="values"
            ):
                if part.event != "metadata" and first is None:
                    first = time.perf_counter() - start
                if part.event == "values":
                    answer = part.data.get("answer")
            if answer != "answer: yes":
                raise RuntimeError(f"resume did not finish the run: {answer!r}")
            if i >= 5 and first is not None:
                first_event.append(first)
                whole.append(time.perf_counter() - start)
    return {"first_event": latency_summary(first_event), "run": latency_summary(whole)}
