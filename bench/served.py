"""Item 2, the same 5-node graph served by keel and driven by the official SDK: create a thread, then
`runs.stream`. Run latency is from the stream request to the end of the stream; time to first event is from
the stream request to the first event after `metadata`. Concurrency N: N clients loop until the time is up."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from bench.harness import latency_summary


@dataclass
class Tally:
    run_s: list[float] = field(default_factory=list)
    first_event_s: list[float] = field(default_factory=list)
    thread_create_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)  # thread creation + run: what a new conversation waits
    errors: list[str] = field(default_factory=list)


async def one_run(client: LangGraphClient, tally: Tally) -> None:
    created = time.perf_counter()
    thread = await client.threads.create()
    start = time.perf_counter()
    tally.thread_create_s.append(start - created)
    first: float | None = None
    last_values: Any = None
    async for part in client.runs.stream(thread["thread_id"], "linear", input={"x": 0}, stream_mode="values"):
        if part.event == "metadata":
            continue
        if first is None:
            first = time.perf_counter() - start
        if part.event == "error":
            tally.errors.append(str(part.data))
        elif part.event == "values":
            last_values = part.data
    end = time.perf_counter()
    tally.run_s.append(end - start)
    tally.total_s.append(end - created)
    if first is not None:
        tally.first_event_s.append(first)
    if last_values != {"x": 5}:
        tally.errors.append(f"unexpected final values {last_values!r}")


async def measure(base_url: str, *, concurrency: int, duration_s: float, warmup_runs: int = 20) -> dict[str, Any]:
    async with get_client(url=base_url, timeout=60) as client:
        for _ in range(warmup_runs):
            await one_run(client, Tally())
        tally = Tally()
        deadline = time.perf_counter() + duration_s

        async def loop() -> None:
            while time.perf_counter() < deadline:
                try:
                    await one_run(client, tally)
                except Exception as exc:  # every failure is counted and reported, not hidden
                    tally.errors.append(f"{type(exc).__name__}: {exc}")

        start = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "duration_s": round(wall, 1),
        "runs": len(tally.run_s),
        "runs_per_s": round(len(tally.run_s) / wall, 1),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "run": latency_summary(tally.run_s),
        "first_event": latency_summary(tally.first_event_s),
        "thread_create": latency_summary(tally.thread_create_s),
        "total": latency_summary(tally.total_s),
    }
