"""Item 5: bytes in PostgreSQL for one thread that grows to 50 and to 200 messages, for LangGraph's default
`add_messages` channel and for keel's own state type (`nodes.state.SupportState`), in the same run. And the
event log of one run whose input is a 1 MB message (`event_log`): its `values` events carry the whole state at
every step, which the log must not store again each time (issue 18, item 3).

One turn = a human message in, one node appends an AI reply (about 200 characters each, pseudo-random words so
that TOAST compression flatters neither design). Bytes are what the thread's rows store (pg_column_size of the
checkpoint, metadata and blob columns, i.e. after compression), per checkpoint table. The same run checks that
nothing was lost: the latest state holds every message, and the history has one entry per checkpoint.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from typing_extensions import TypedDict

from bench.harness import ms
from nodes.state import SupportState
from server.db.pool import Pool, create_pool
from server.runs import store
from server.runs.events import EventLog
from server.runs.execute import execute
from server.serialize import dumps
from server.settings import DatabaseSettings

CHECKPOINTS = (50, 200)  # message counts at which the thread's bytes are read
_BYTES_SQL = """
    SELECT (SELECT coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)
              FROM checkpoints WHERE thread_id = %(t)s) AS checkpoints,
           (SELECT coalesce(sum(pg_column_size(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %(t)s) AS blobs,
           (SELECT coalesce(sum(pg_column_size(blob)), 0) FROM checkpoint_writes WHERE thread_id = %(t)s) AS writes
"""


class DefaultState(TypedDict):
    """LangGraph's usual messages state: the whole list is one blob, stored again at every new version."""

    messages: Annotated[list[AnyMessage], add_messages]


def _text(seed: str, chars: int = 200) -> str:
    words: list[str] = []
    counter = length = 0
    while length < chars:  # a running total: summing the words each time is quadratic in a 1 MB text
        words.append(hashlib.sha256(f"{seed}:{counter}".encode()).hexdigest()[: 3 + counter % 7])
        length += len(words[-1]) + 1
        counter += 1
    return " ".join(words)[:chars]


def _reply(state: Any) -> dict[str, Any]:
    return {"messages": [AIMessage(_text(f"ai{len(state['messages'])}"))]}


def _graph(state_type: type[Any], saver: AsyncPostgresSaver) -> Any:
    graph: StateGraph[Any, None, Any, Any] = StateGraph(state_type)
    graph.add_node("reply", _reply)
    graph.add_edge(START, "reply")
    return graph.compile(checkpointer=saver)


async def _grow(graph: Any, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> dict[str, Any]:
    thread_id = str(uuid.uuid4())
    config = {"configurable": {"thread_id": thread_id}}
    out: dict[str, Any] = {}
    messages = 0
    for target in CHECKPOINTS:
        while messages < target:
            await graph.ainvoke({"messages": [HumanMessage(_text(f"human{messages}"))]}, config, durability="sync")
            messages += 2
        async with pool.connection() as conn:
            row = await (await conn.execute(_BYTES_SQL, {"t": thread_id})).fetchone()
        assert row is not None
        start = time.perf_counter()
        state = await graph.aget_state(config)
        get_state_s = time.perf_counter() - start
        history = [snapshot async for snapshot in graph.aget_state_history(config)]
        out[str(target)] = {
            **{key: int(value) for key, value in row.items()},
            "total": int(sum(row.values())),
            "messages_in_state": len(state.values["messages"]),
            "history_entries": len(history),
            "get_state_ms": ms(get_state_s),
        }
    small, large = out[str(CHECKPOINTS[0])]["total"], out[str(CHECKPOINTS[1])]["total"]
    out["ratio"] = round(large / small, 2)
    # Linear growth: each message from 50 to 200 costs what each of the first 50 cost (item 4: within 1 %).
    first, later = small / CHECKPOINTS[0], (large - small) / (CHECKPOINTS[1] - CHECKPOINTS[0])
    out["marginal_change_pct"] = round((later / first - 1) * 100, 2)
    return out


EVENT_LOG_STEPS = 8  # nodes after the input: 9 `values` events
EVENT_LOG_INPUT_CHARS = 1_000_000
_EVENT_BYTES_SQL = """SELECT count(*) AS events, coalesce(sum(octet_length(data)), 0) AS raw,
    coalesce(sum(pg_column_size(data)), 0) AS stored FROM keel.run_events WHERE run_id = %s"""


async def event_log(database_url: str) -> dict[str, Any]:
    """One run of an 8-node line (each node appends a 200-character reply) whose input is a 1 MB message,
    through the worker's own `execute` and event log. `sent` is what its `values` events carry (what the log
    stored before issue 18); `raw`/`stored` are the run's event rows before and after TOAST compression;
    `replay_exact` checks that reading the log back gives every event's text as sent."""
    pool = create_pool(database_url, DatabaseSettings())
    await pool.open(wait=True)
    try:
        saver = AsyncPostgresSaver(pool)  # keel's pool: dict rows, autocommit
        graph: StateGraph[Any, None, Any, Any] = StateGraph(DefaultState)
        previous = START
        for step in range(EVENT_LOG_STEPS):
            graph.add_node(f"n{step}", _reply)
            graph.add_edge(previous, f"n{step}")
            previous = f"n{step}"
        compiled = graph.compile(checkpointer=saver)
        message = {"type": "human", "content": _text("big", EVENT_LOG_INPUT_CHARS)}
        run = await _started_run(pool, {"input": {"messages": [message]}, "stream_mode": ["values"]})
        log = EventLog(pool, run["run_id"], next_seq=1)
        sent: list[str] = []
        append = log.append

        async def recorded(event: str, data: str) -> int:
            sent.append(data)
            return await append(event, data)

        log.append = recorded  # type: ignore[method-assign]
        start = time.perf_counter()
        await execute(compiled, run, log, context=None)
        await log.close()
        run_s = time.perf_counter() - start
        async with pool.connection() as conn:
            row = await (await conn.execute(_EVENT_BYTES_SQL, (run["run_id"],))).fetchone()
        assert row is not None
        replayed, _ = await store.read_events(pool, run["run_id"], after=0)
        input_bytes = len(dumps({"messages": [message]}).encode())
        return {
            "input_bytes": input_bytes,
            "events": int(row["events"]),
            "sent_bytes": sum(len(data.encode()) for data in sent),
            "raw_bytes": int(row["raw"]),
            "stored_bytes": int(row["stored"]),
            "log_over_input": round(int(row["raw"]) / input_bytes, 2),
            "replay_exact": [event.data for event in replayed] == sent,
            "run_ms": ms(run_s),
        }
    finally:
        await pool.close()


async def _started_run(pool: Pool, kwargs: dict[str, Any]) -> Any:
    thread_id = uuid.uuid4()
    async with pool.connection() as conn, conn.transaction():
        await store.ensure_thread(conn, thread_id, if_not_exists="create", graph_id="log", assistant_id="log")
        run = await store.create_run(
            conn,
            thread_id=thread_id,
            assistant_id="log",
            graph_id="log",
            kwargs=kwargs,  # type: ignore[arg-type]
            metadata={},
            multitask_strategy="enqueue",
        )
    return {**run, "attempt": 1, "next_seq": 1, "elapsed_s": 0.0}


async def measure(database_url: str) -> dict[str, Any]:
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True, "row_factory": dict_row}
    )
    async with pool:
        saver = AsyncPostgresSaver(pool)
        grown = {
            "langgraph_default": await _grow(_graph(DefaultState, saver), pool),
            "keel": await _grow(_graph(SupportState, saver), pool),
        }
    return grown | {"event_log": await event_log(database_url)}
