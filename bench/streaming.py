"""Item 3: a `support` run whose final answer streams about 500 tokens, with a client attached to the stream
(`messages-tuple`, every token) and without one (a background run nobody follows).

The request is an ordinary how-to question; the offline model answers it with the knowledge base articles that
`search_docs` found, and `limit=4` (its documented `name=value` rule) asks for four of them: ~500 words, one
token per word. A run's duration is the worker's (keel.runs started_at to ended_at), so both cases are timed the
same way; token throughput is measured at the client, first token to last.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

from bench.harness import latency_summary, ms

REQUEST = "How do I set up SSO? Please explain the guide. limit=4"
# Both runs produce the same events (the run does the same work); only whether a client reads them differs.
STREAM_MODE: list[StreamMode] = ["messages-tuple", "values"]


async def _run_seconds(database_url: str, run_id: str) -> float:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "SELECT extract(epoch FROM ended_at - started_at) FROM keel.runs WHERE run_id = %s", (run_id,)
            )
        ).fetchone()
    assert row is not None and row[0] is not None, f"run {run_id} has not ended"
    return float(row[0])


def _input() -> dict[str, Any]:
    return {"messages": [{"type": "human", "content": REQUEST}]}


async def attached(client: LangGraphClient, database_url: str) -> dict[str, Any]:
    thread = await client.threads.create()
    run_id = ""
    tokens = 0
    first: float | None = None
    last = 0.0
    final_answer = ""
    async for part in client.runs.stream(thread["thread_id"], "support", input=_input(), stream_mode=STREAM_MODE):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        elif part.event == "messages" and part.data[0].get("content"):
            tokens += 1
            last = time.perf_counter()
            first = first or last
        elif part.event == "values":
            final_answer = str(part.data["messages"][-1]["content"])
        elif part.event == "error":
            raise RuntimeError(f"support run failed: {part.data}")
    return {
        "run_s": await _run_seconds(database_url, run_id),
        "tokens": tokens,
        "answer_tokens": len(final_answer.split()),
        "token_span_s": last - (first or last),
    }


async def detached(client: LangGraphClient, database_url: str) -> float:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "support", input=_input(), stream_mode=STREAM_MODE)
    await client.runs.join(thread["thread_id"], run["run_id"])
    return await _run_seconds(database_url, run["run_id"])


async def measure(base_url: str, database_url: str, *, repeats: int) -> dict[str, Any]:
    async with get_client(url=base_url, timeout=120) as client:
        await attached(client, database_url)  # warm-up: imports, the knowledge base, the desk pool
        with_client: list[dict[str, Any]] = []
        without_client: list[float] = []
        for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
            with_client.append(await attached(client, database_url))
            without_client.append(await detached(client, database_url))
            await asyncio.sleep(0)
    attached_s = [r["run_s"] for r in with_client]
    tokens = sum(r["tokens"] for r in with_client)
    span = sum(r["token_span_s"] for r in with_client)
    summary_with, summary_without = latency_summary(attached_s), latency_summary(without_client)
    return {
        "request": REQUEST,
        "answer_tokens": with_client[-1]["answer_tokens"],
        "tokens_streamed_per_run": with_client[-1]["tokens"],
        "tokens_per_s": round(tokens / span, 1) if span else None,
        "run_with_client": summary_with,
        "run_without_client": summary_without,
        "client_cost_pct": round(100 * (summary_with["p50_ms"] / summary_without["p50_ms"] - 1), 1),
        "token_span_p50_ms": ms(sorted(r["token_span_s"] for r in with_client)[len(with_client) // 2]),
    }
