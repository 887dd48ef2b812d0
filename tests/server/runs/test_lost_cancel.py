"""A cancel that a library loses still stops the run.

On Python 3.11, `asyncio.wait_for` returns its result when the wait completes just as a cancel arrives, and
psycopg_pool waits for a connection that way: a run cancelled while its checkpoint write waits for a pooled
connection went on to the end and reported `success`. The worker repeats the cancel, and the executor honours
one it sees at the next step's output.
"""

from __future__ import annotations

import asyncio
import operator
import uuid
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from server.db.pool import Pool
from server.records import StartedRun
from server.runs import store
from server.runs.events import EventLog
from server.runs.execute import execute
from server.runs.worker import cancel_and_wait


async def test_a_lost_cancel_is_repeated_until_the_task_ends() -> None:
    lost = asyncio.Event()

    async def loses_the_first_cancel() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            lost.set()  # what wait_for does when its wait completes as the cancel arrives
        await asyncio.sleep(10)

    task = asyncio.create_task(loses_the_first_cancel())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait(task, repeat_s=0.05)
    assert lost.is_set(), "the first cancel must have been lost, or this tests nothing"
    assert task.cancelled()


class State(TypedDict):
    ran: Annotated[list[str], operator.add]


class LosesACancelWhileWriting(InMemorySaver):
    """Its second checkpoint write takes a while and, like wait_for on 3.11, drops a cancel that arrives then."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0
        self.writing = asyncio.Event()
        self.lost = asyncio.Event()

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        self.puts += 1
        if self.puts == 2:
            self.writing.set()
            try:
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                self.lost.set()
        return await super().aput(*args, **kwargs)


def _step(name: str) -> Any:
    def run(state: State) -> dict[str, Any]:
        return {"ran": [name]}

    return run


def _five_steps(saver: InMemorySaver) -> Any:
    graph = StateGraph(State)
    previous = START
    for name in ("one", "two", "three", "four", "five"):
        graph.add_node(name, _step(name))
        graph.add_edge(previous, name)
        previous = name
    return graph.compile(checkpointer=saver)


async def test_a_run_whose_cancel_was_lost_stops_at_its_next_step(pool: Pool) -> None:
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        run = await store.insert_run(
            conn,
            thread_id=thread_id,
            create_thread=True,
            assistant_id="g",
            graph_id="g",
            kwargs={"input": {"ran": []}, "stream_mode": ["values"]},
            metadata={},
        )
    run = StartedRun(**run, next_seq=1, elapsed_s=0.0) | {"attempt": 1}
    saver = LosesACancelWhileWriting()
    graph = _five_steps(saver)
    task = asyncio.create_task(execute(graph, run, EventLog(pool, run["run_id"], next_seq=1), context=None))
    async with asyncio.timeout(10):
        await saver.writing.wait()
        await asyncio.sleep(0.1)  # the run is now waiting for that write
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert saver.lost.is_set(), "the cancel must have been lost in the write, or this tests nothing"
    state = await graph.aget_state({"configurable": {"thread_id": str(thread_id)}})
    assert len(state.values["ran"]) < 5, f"the run went on to its end: {state.values['ran']}"
