"""Issue 13 §5: `after_seconds` (a delayed run, in the queue) and `webhook` (the run POSTed when it ends), as
LangGraph Server documents them, through the official Python SDK; webhooks go to a receiver on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.runs.webhooks import SIGNATURE_HEADER, verify
from tests.compat.conftest import WEBHOOK_SECRET, eventually
from tests.loopback import serve_in_thread
from tests.process import KeelProcess

pytestmark = pytest.mark.slow

DELAY_S = 3  # long enough that the run created right after the delayed one is created before it is due


@dataclass
class Receiver:
    """A webhook receiver: records each POST; answers `failures` 500s first, then 200s."""

    failures: int = 0
    hold: threading.Event | None = None  # set: each POST waits until it is set (a slow receiver)
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.posts]


def _app(receiver: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            receiver.posts.append((dict(request.headers), body))
            failing = len(receiver.posts) <= receiver.failures
        if receiver.hold is not None:
            await asyncio.to_thread(receiver.hold.wait, 60)
        return Response(status_code=500 if failing else 200)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    with serve_in_thread(_app(hooks), name="webhook-receiver") as port:
        hooks.url = f"http://127.0.0.1:{port}/hook"
        yield hooks


def _when(stamp: object) -> dt.datetime:
    """A timestamp as the SDK hands it over: typed as a datetime, an ISO string on the wire."""
    return stamp if isinstance(stamp, dt.datetime) else dt.datetime.fromisoformat(str(stamp))


async def test_a_delayed_run_waits_in_the_queue_and_a_later_run_goes_first(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    asked = dt.datetime.now(dt.UTC)
    delayed = await client.runs.create(thread["thread_id"], "echo", input={}, after_seconds=DELAY_S)
    # A free worker slot starts a new run at once; a delayed one is queued instead.
    assert delayed["status"] == "pending"
    # As on LangGraph Server, its created_at is its due time, and its place in the thread's order.
    assert _when(delayed["created_at"]) >= asked + dt.timedelta(seconds=DELAY_S - 0.5)
    later = await client.runs.create(thread["thread_id"], "echo", input={})
    await client.runs.join(thread["thread_id"], delayed["run_id"])
    runs = {run["run_id"]: run for run in await client.runs.list(thread["thread_id"])}
    assert {runs[delayed["run_id"]]["status"], runs[later["run_id"]]["status"]} == {"success"}

    # The order the runs ran in, and when the delayed one started, from the checkpoints they wrote.
    history = list(reversed(await client.threads.get_history(thread["thread_id"], limit=100)))
    order = [step["metadata"]["run_id"] for step in history if step["metadata"].get("run_id")]
    assert order.index(later["run_id"]) < order.index(delayed["run_id"])
    first_of_delayed = next(step for step in history if step["metadata"].get("run_id") == delayed["run_id"])
    assert _when(first_of_delayed["created_at"]) >= _when(delayed["created_at"])


async def test_a_webhook_gets_the_run_when_it_ends_signed_and_retried(
    client: LangGraphClient, receiver: Receiver
) -> None:
    receiver.failures = 1  # the first POST fails: the second attempt is the one that lands
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input={}, webhook=receiver.url)
    await client.runs.join(thread["thread_id"], run["run_id"])
    await eventually(lambda_async(lambda: len(receiver.posts) >= 2), "the webhook to be retried")
    body = receiver.bodies()[-1]
    assert body["run_id"] == run["run_id"] and body["thread_id"] == thread["thread_id"]
    assert body["status"] == "success"
    assert body["assistant_id"] == run["assistant_id"]
    assert body["values"]["context"] is not None  # the thread's values after the run
    assert {"run_started_at", "run_ended_at", "webhook_sent_at", "kwargs", "metadata"} <= body.keys()
    headers, raw = receiver.posts[-1]
    assert verify(WEBHOOK_SECRET, raw, headers[SIGNATURE_HEADER.lower()])
    assert not verify("another secret", raw, headers[SIGNATURE_HEADER.lower()])


@pytest.mark.parametrize(("action", "status"), [("interrupt", "interrupted"), ("rollback", "rollback")])
async def test_a_cancelled_run_sends_its_webhook_too(
    client: LangGraphClient, receiver: Receiver, action: Literal["interrupt", "rollback"], status: str
) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 60}, webhook=receiver.url)
    await eventually(lambda: _status(client, thread["thread_id"], run["run_id"], "running"), "the run to start")
    await client.runs.cancel(thread["thread_id"], run["run_id"], wait=True, action=action)
    await eventually(lambda_async(lambda: len(receiver.posts) >= 1), "the webhook")
    assert receiver.bodies()[0]["status"] == status


async def test_a_failing_receiver_never_fails_the_run(client: LangGraphClient, receiver: Receiver) -> None:
    receiver.failures = 100  # every attempt fails
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input={}, webhook=receiver.url)
    await client.runs.join(thread["thread_id"], run["run_id"])
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
    await eventually(lambda_async(lambda: len(receiver.posts) >= 3), "every attempt", timeout=30)
    # the thread takes the next run as usual
    after = await client.runs.wait(thread["thread_id"], "echo", input={})
    assert isinstance(after, dict) and after["context"] is not None


async def test_a_slow_receiver_never_delays_the_run(client: LangGraphClient, receiver: Receiver) -> None:
    receiver.hold = threading.Event()
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input={}, webhook=receiver.url)
    try:
        await eventually(lambda_async(lambda: len(receiver.posts) >= 1), "the webhook to be sent")
        # The receiver still holds the POST, and the run has already ended and frees its thread.
        assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
        assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"
    finally:
        receiver.hold.set()


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "/relative", "http://"])
def test_a_webhook_that_is_not_an_http_url_is_refused(compat_server: KeelProcess, url: str) -> None:
    response = httpx.post(
        f"{compat_server.base_url}/runs/wait", json={"assistant_id": "echo", "input": {}, "webhook": url}
    )
    assert response.status_code == 422, response.text
    assert "webhook" in response.text


async def _status(client: LangGraphClient, thread_id: str, run_id: str, status: str) -> bool:
    return (await client.runs.get(thread_id, run_id))["status"] == status


def lambda_async(check: Any) -> Any:
    async def checked() -> bool:
        return bool(check())

    return checked
