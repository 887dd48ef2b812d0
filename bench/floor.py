"""Item 1, the in-process floor: the 5-node linear graph run directly with AsyncPostgresSaver, durability sync,
one new thread per run, sequentially and with `concurrency` runs at a time. No HTTP, no queue, no event log."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from bench.graphs import build_linear
from bench.harness import latency_summary

WARMUP_RUNS = 20


async def _timed_runs(graph: Any, count: int, concurrency: int) -> tuple[list[float], float]:
    """`count` runs spread over `concurrency` tasks: (each run's seconds, wall-clock seconds)."""
    latencies: list[float] = []
    remaining = iter(range(count))

    async def loop() -> None:
        for _ in remaining:
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            start = time.perf_counter()
            result = await graph.ainvoke({"x": 0}, config, durability="sync")
            latencies.append(time.perf_counter() - start)
            assert result == {"x": 5}, result

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


def floor_pool(database_url: str, concurrency: int) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
    """The floor's pool (unopened): one connection per concurrent run, as AsyncPostgresSaver wants them."""
    return AsyncConnectionPool(
        database_url,
        min_size=concurrency,
        max_size=concurrency,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )


async def measure(database_url: str, *, runs: int, concurrency: int) -> dict[str, Any]:
    pool = floor_pool(database_url, concurrency)
    async with pool:
        graph = build_linear().compile(checkpointer=AsyncPostgresSaver(pool))
        await _timed_runs(graph, WARMUP_RUNS, 1)
        sequential, seq_wall = await _timed_runs(graph, runs, 1)
        concurrent, conc_wall = await _timed_runs(graph, runs, concurrency)
    return {
        "c1": {**latency_summary(sequential), "runs_per_s": round(len(sequential) / seq_wall, 1)},
        f"c{concurrency}": {**latency_summary(concurrent), "runs_per_s": round(len(concurrent) / conc_wall, 1)},
    }
