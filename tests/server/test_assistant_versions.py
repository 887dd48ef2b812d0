"""Assistant versions in the database, below HTTP: a graph's system assistant gets a new version when its
description changes between starts (as LangGraph Server does) and not otherwise, and concurrent changes each
get their own version number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from server.db.pool import Pool, create_pool
from server.graph_loading import GraphEntry, LoadedGraphs
from server.services import assistant_versions, assistants
from server.settings import DatabaseSettings


class State(TypedDict):
    n: int


def loaded(description: str | None) -> LoadedGraphs:
    builder = StateGraph(State)
    builder.add_node("step", lambda state: state)
    builder.add_edge(START, "step")
    return LoadedGraphs([GraphEntry("g", "./g.py:graph", description, builder.compile())], None)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = create_pool(database_url, DatabaseSettings())
    await pool.open(wait=True)
    yield pool
    await pool.close()


async def versions(pool: Pool) -> list[tuple[int, str | None]]:
    async with pool.connection() as conn:
        rows = await assistant_versions.list_versions(
            conn, assistants.system_assistant_id("g"), metadata=None, limit=100, offset=0
        )
    return [(row["version"], row["description"]) for row in rows]


async def test_a_changed_graph_description_is_a_new_version(pool: Pool) -> None:
    await assistants.register_system_assistants(pool, loaded("first"))
    await assistants.register_system_assistants(pool, loaded("first"))  # a restart that changes nothing
    assert await versions(pool) == [(1, "first")]
    # several processes starting at once with the new description store it once
    await asyncio.gather(*(assistants.register_system_assistants(pool, loaded("second")) for _ in range(3)))
    assert await versions(pool) == [(2, "second"), (1, "first")]
    async with pool.connection() as conn:
        row = await assistants.get_assistant(conn, loaded("second"), "g")
    assert (row["version"], row["description"]) == (2, "second")


async def test_concurrent_patches_each_get_a_version(pool: Pool) -> None:
    graphs = loaded(None)
    await assistants.register_system_assistants(pool, graphs)

    async def patch(n: int) -> int:
        async with pool.connection() as conn:
            row = await assistants.update_assistant(conn, graphs, "g", {"metadata": {f"k{n}": n}})
        return int(row["version"])

    assert sorted(await asyncio.gather(*(patch(n) for n in range(5)))) == [2, 3, 4, 5, 6]
    assert [version for version, _ in await versions(pool)] == [6, 5, 4, 3, 2, 1]
