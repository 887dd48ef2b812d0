"""Graphs that are not part of keel: served from a temporary langgraph.json by the run tests.

- `echo`: a model node (a fake streaming chat model) answers the last human message, then `finish` runs.
- `steps`: three nodes that each sleep `delay` seconds and then record a side effect (one row per run and
  node in `side_effects`, idempotent like a keel tool) and an execution (a row in `executions` every time
  the node body runs), in the database at DATABASE_URL. Tests overlap, cancel and kill runs part-way.
- `ask`: asks a person through `interrupt()` and echoes the answer.
- `stuck`: a plain (sync) node that records an execution and then blocks for `block_s` seconds; LangGraph runs
  it in a thread, which cancelling the run's task does not stop.
- `hog`: an async node that records an execution and then blocks the event loop itself for `block_s` seconds
  (as a CPU-bound node holding the GIL would): nothing else in its process runs meanwhile, heartbeats included.
- `fail`: a node that raises an error quoting the last human message (what lands in the log when a run fails).
- `grow`: `first`, a sub-graph `inner` (two nodes) and `last` each append a short reply to the messages: with a
  large input, every `values` event repeats it (the event log stores such events as differences).
"""

from __future__ import annotations

import asyncio
import operator
import os
import time
from typing import Annotated, Any

import psycopg
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict


class EchoState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    finished: bool


async def model(state: EchoState) -> dict[str, Any]:
    text = str(state["messages"][-1].content)
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=f"you said {text} and that is all")]))
    return {"messages": [await llm.ainvoke(state["messages"])]}


def finish(state: EchoState) -> dict[str, Any]:
    get_stream_writer()({"progress": "finishing"})
    return {"finished": True}


echo = StateGraph(EchoState)
echo.add_node("model", model)
echo.add_node("finish", finish)
echo.add_edge(START, "model")
echo.add_edge("model", "finish")


class StepsState(TypedDict):
    delay: float
    done: Annotated[list[str], operator.add]


def _step(name: str) -> Any:
    async def run(state: StepsState, config: RunnableConfig) -> dict[str, Any]:
        await asyncio.sleep(state.get("delay", 0))
        run_id = config["metadata"]["run_id"]
        async with await psycopg.AsyncConnection.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            await conn.execute("INSERT INTO executions (run_id, node) VALUES (%s, %s)", (run_id, name))
            await conn.execute(
                "INSERT INTO side_effects (run_id, node) VALUES (%s, %s) ON CONFLICT DO NOTHING", (run_id, name)
            )
        return {"done": [name]}

    return run


SIDE_EFFECT_TABLES = """
    CREATE TABLE side_effects (run_id text, node text, at timestamptz DEFAULT clock_timestamp(),
                               PRIMARY KEY (run_id, node));
    CREATE TABLE executions (run_id text, node text, at timestamptz DEFAULT clock_timestamp());
"""

steps = StateGraph(StepsState)
for _name in ("one", "two", "three"):
    steps.add_node(_name, _step(_name))
steps.add_edge(START, "one")
steps.add_edge("one", "two")
steps.add_edge("two", "three")


class AskState(TypedDict):
    question: str
    answer: str


def ask_node(state: AskState) -> dict[str, Any]:
    answer = interrupt({"question": state["question"]})
    return {"answer": f"answer: {answer}"}


ask = StateGraph(AskState)
ask.add_node("ask", ask_node)
ask.add_edge(START, "ask")
compiled_ask = ask.compile()  # served compiled: keel must attach its own checkpointer


class BlockState(TypedDict):
    block_s: float


def _record(config: RunnableConfig, node: str) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("INSERT INTO executions (run_id, node) VALUES (%s, %s)", (config["metadata"]["run_id"], node))


def stuck_node(state: BlockState, config: RunnableConfig) -> dict[str, Any]:
    _record(config, "stuck")
    time.sleep(state["block_s"])
    return {}


async def hog_node(state: BlockState, config: RunnableConfig) -> dict[str, Any]:
    _record(config, "hog")
    time.sleep(state["block_s"])  # the point: the event loop is held, as by a CPU-bound node
    return {}


stuck = StateGraph(BlockState)
stuck.add_node("stuck", stuck_node)
stuck.add_edge(START, "stuck")

hog = StateGraph(BlockState)
hog.add_node("hog", hog_node)
hog.add_edge(START, "hog")


def quote_and_fail(state: EchoState) -> dict[str, Any]:
    # As many errors do (a provider's 400, a parser's complaint), this one quotes the input it could not handle.
    raise ValueError(f"cannot handle {state['messages'][-1].content!r}")


fail = StateGraph(EchoState)
fail.add_node("quote_and_fail", quote_and_fail)
fail.add_edge(START, "quote_and_fail")


def _append(text: str) -> Any:
    def node(state: EchoState) -> dict[str, Any]:
        return {"messages": [AIMessage(content=f"{text} after {len(state['messages'])} message(s)")]}

    return node


_inner = StateGraph(EchoState)
_inner.add_node("inner_a", _append("inner a"))
_inner.add_node("inner_b", _append("inner b"))
_inner.add_edge(START, "inner_a")
_inner.add_edge("inner_a", "inner_b")

grow = StateGraph(EchoState)
grow.add_node("first", _append("first"))
grow.add_node("inner", _inner.compile())
grow.add_node("last", _append("last"))
grow.add_edge(START, "first")
grow.add_edge("first", "inner")
grow.add_edge("inner", "last")
