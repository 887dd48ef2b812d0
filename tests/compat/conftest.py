"""One real `keel serve --config app/langgraph.json` for the whole compatibility suite, on a scratch database.

The app is served from where it is committed, unchanged, as a user's app would be."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.pg import scratch_database
from tests.process import KeelProcess

APP = Path(__file__).with_name("app")
WEBHOOK_SECRET = "compat-webhook-secret"  # a test value: signs the compat server's webhooks


@pytest.fixture(scope="session")
def compat_server(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    folder = tmp_path_factory.mktemp("compat")
    with scratch_database(pg_admin_url, template=migrated_template_db) as url:
        keel = KeelProcess(
            ["serve", "--config", str(APP / "langgraph.json")],
            # runs a test leaves running (the xfails) must not hold up the stop
            env={
                "DATABASE_URL": url,
                "KEEL_RUN_POLL": "0.5",
                "KEEL_SHUTDOWN_GRACE": "1",
                "KEEL_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "KEEL_CRON_POLL": "0.2",
            },
            cwd=folder,
            log=folder / "keel.log",
        )
        keel.wait_ready(timeout=30)
        yield keel
        keel.stop()


@pytest.fixture
async def client(compat_server: KeelProcess) -> AsyncIterator[LangGraphClient]:
    """The official Python SDK, pointed at the compat server."""
    async with get_client(url=compat_server.base_url) as sdk:
        yield sdk


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    """Wait until `check()` holds (a condition on the server, polled), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
