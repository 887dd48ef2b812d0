"""keel's message lists are DeltaChannels (nodes/state.py): a thread stores each step's new messages, not the
whole list again. These tests prove that nothing a client relies on was lost: the history has every
checkpoint with the messages it had then, a fork from an earlier checkpoint sees only what came before it,
and the list is not stored again at every step."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph

from nodes.state import SupportState
from tests.graphs.harness import open_pool

TURNS = 6


def reply(state: SupportState) -> dict[str, Any]:
    return {"messages": [AIMessage(f"reply {len(state['messages'])}")], "turns": state.get("turns", 0) + 1}


def contents(values: dict[str, Any]) -> list[str]:
    return [str(m.content) for m in values.get("messages", [])]


async def test_history_fork_and_linear_storage(database_url: str) -> None:
    async with open_pool(database_url) as pool:
        graph = StateGraph(SupportState)
        graph.add_node("reply", reply)
        graph.add_edge(START, "reply")
        app: Any = graph.compile(checkpointer=AsyncPostgresSaver(pool))
        thread = str(uuid.uuid4())
        config: Any = {"configurable": {"thread_id": thread}}
        for turn in range(TURNS):
            await app.ainvoke({"messages": [HumanMessage(f"question {turn}")]}, config, durability="sync")

        expected = [text for turn in range(TURNS) for text in (f"question {turn}", f"reply {2 * turn + 1}")]
        assert contents((await app.aget_state(config)).values) == expected

        # Every checkpoint in the history holds exactly the messages the thread had at that point.
        history = [snapshot async for snapshot in app.aget_state_history(config)]
        assert len(history) == 3 * TURNS  # per turn: the input, the input applied, the reply
        for snapshot in history:
            shown = contents(snapshot.values)
            assert shown == expected[: len(shown)]
        after_first_reply = next(s for s in reversed(history) if contents(s.values) == expected[:2])

        # Time travel: a fork from the checkpoint after the first reply continues from there, not from the end.
        fork = {"configurable": {**after_first_reply.config["configurable"]}}
        forked = await app.ainvoke({"messages": [HumanMessage("another question")]}, fork, durability="sync")
        assert contents(forked) == [*expected[:2], "another question", "reply 3"]
        assert contents((await app.aget_state(config)).values) == contents(forked)
        # The original branch is still there, unchanged.
        assert contents((await app.aget_state(history[0].config)).values) == expected

        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM checkpoint_blobs WHERE thread_id = %s AND channel = 'messages'",
                    (thread,),
                )
            ).fetchone()
        assert rows is not None
        assert rows["n"] == 0  # no full copy of the list before the first snapshot (every SNAPSHOT_EVERY updates)
