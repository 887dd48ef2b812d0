"""Fixtures for graph tests: each graph compiled over a fresh database, the way the server runs it.

Child processes (tests/graphs/child.py) run with LANGGRAPH_STRICT_MSGPACK=true, as the server does, so a
checkpoint holding a type that is not allow-listed fails the restart and crash tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.graphs.harness import Desk, open_desk, registered


@pytest.fixture
async def support(database_url: str) -> AsyncIterator[Desk]:
    async with open_desk(database_url, registered("support")) as desk:
        yield desk


@pytest.fixture
async def onboarding(database_url: str) -> AsyncIterator[Desk]:
    async with open_desk(database_url, registered("onboarding")) as desk:
        yield desk
