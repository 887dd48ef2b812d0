"""How the graph tests run keel's graphs: the way the server does (one pool, AsyncPostgresSaver and
AsyncPostgresStore on it, the builder compiled once, `Context` on every run, `durability="sync"`), with the
offline model for every role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.postgres import AsyncPostgresStore
from langgraph.types import Command
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from nodes.context import Context, ModelProvider, Role
from server.models.offline import OfflineChatModel
from tests.process import REPO
from tests.waiting import READY_TIMEOUT

RECURSION_LIMIT = 100

Builder = Callable[[], StateGraph[Any, Any, Any, Any]]


def registered(graph_id: str, config: Path = REPO / "langgraph.json") -> Builder:
    """The builder langgraph.json registers as `graph_id` (keel's graphs have no other registry)."""
    path, attr = json.loads(config.read_text())["graphs"][graph_id].split(":")
    module = path.removeprefix("./").removesuffix(".py").replace("/", ".")
    build: Builder = getattr(import_module(module), attr)
    return build


class OfflineModels:
    def chat(self, role: Role) -> BaseChatModel:  # noqa: ARG002 -- one model plays every role
        return OfflineChatModel()


@asynccontextmanager
async def open_pool(url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=4,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    async with pool:
        yield pool


@dataclass
class Desk:
    """A compiled graph over one pool, plus helpers to run a thread and read the desk schema."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    pool: AsyncConnectionPool[Any]
    max_steps: int = 12
    models: ModelProvider = field(default_factory=OfflineModels)  # tests/scripted_model.py for topology tests

    def config(self, thread_id: str) -> Any:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}

    @property
    def context(self) -> Context:
        return Context(db=self.pool, models=self.models, max_steps=self.max_steps)

    async def run(self, thread_id: str, payload: Any) -> dict[str, Any]:
        """Run until the graph ends or interrupts; the final values."""
        result = await self.graph.ainvoke(payload, self.config(thread_id), context=self.context, durability="sync")
        assert isinstance(result, dict)
        return result

    async def ask(self, thread_id: str, request: str) -> dict[str, Any]:
        return await self.run(thread_id, {"messages": [HumanMessage(request)]})

    async def ask_and_trace(self, thread_id: str, request: str) -> tuple[dict[str, Any], list[ToolMessage]]:
        """Like `ask`, plus every ToolMessage of the run, from sub-graphs (worker agents) too, in order."""
        values: dict[str, Any] = {}
        results: list[ToolMessage] = []
        item: Any  # (namespace, mode, data) with a list of modes and subgraphs=True
        async for item in self.graph.astream(
            {"messages": [HumanMessage(request)]},
            self.config(thread_id),
            context=self.context,
            stream_mode=["updates", "values"],
            subgraphs=True,
            durability="sync",
        ):
            ns, mode, data = item
            if mode == "values" and not ns:
                values = data
            elif mode == "updates":
                for update in data.values():
                    for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                        if isinstance(message, ToolMessage):
                            results.append(message)
        return values, results

    async def resume(self, thread_id: str, value: Any) -> dict[str, Any]:
        return await self.run(thread_id, Command(resume=value))

    async def interrupts(self, thread_id: str) -> list[Any]:
        state = await self.graph.aget_state(self.config(thread_id))
        return list(state.interrupts)

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            return list(await (await conn.execute(query, params)).fetchall())


def tool_calls(values: dict[str, Any]) -> list[str]:
    """The names of the tools the graph's own model called (sub-graphs' calls are in their ToolMessages)."""
    return [c["name"] for m in values["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]


def result(results: list[ToolMessage], name: str) -> ToolMessage:
    """The one result of tool `name`."""
    [found] = [m for m in results if m.name == name]
    return found


def answer(values: dict[str, Any]) -> str:
    last = values["messages"][-1]
    assert isinstance(last, AIMessage), last
    return str(last.content)


@asynccontextmanager
async def open_desk(url: str, build: Builder, **kw: Any) -> AsyncIterator[Desk]:
    async with open_pool(url) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        store = AsyncPostgresStore(pool)
        await store.setup()
        yield Desk(graph=build().compile(checkpointer=saver, store=store), pool=pool, **kw)


def run_child(command: dict[str, Any], *, root: Path = REPO, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """Run tests/graphs/child.py in a new Python process and return what it printed. `root` is where its
    graphs/, nodes/, tools/ and langgraph.json come from (a copy of keel's, say); tests/ and server/ are keel's."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.graphs.child", json.dumps(command)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO}", "LANGGRAPH_STRICT_MSGPACK": "true"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def start_child(command: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.graphs.child", json.dumps(command)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "LANGGRAPH_STRICT_MSGPACK": "true"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
