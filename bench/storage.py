"""Item 5: bytes in PostgreSQL for one thread that grows to 50 and to 200 messages, for LangGraph's default
`add_messages` channel and for keel's own state type (`nodes.state.SupportState`), in the same run.

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
    counter = 0
    while sum(len(w) + 1 for w in words) < chars:
        words.append(hashlib.sha256(f"{seed}:{counter}".encode()).hexdigest()[: 3 + counter % 7])
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


async def measure(database_url: str) -> dict[str, Any]:
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True, "row_factory": dict_row}
    )
    async with pool:
        saver = AsyncPostgresSaver(pool)
        return {
            "langgraph_default": await _grow(_graph(DefaultState, saver), pool),
            "keel": await _grow(_graph(SupportState, saver), pool),
        }
