"""Webhooks: when a run with a `webhook` ends, POST the run to that URL, as LangGraph Server does.

Sent after the run is finished, in background tasks: a slow or failing receiver never fails or delays a run.
Sends are bounded (`MAX_SENDING` at a time, `TIMEOUT_S` per attempt) and retried with exponential backoff on
network errors, timeouts, 429 and 5xx (`ATTEMPTS` in all). With `KEEL_WEBHOOK_SECRET` set, each POST carries
`SIGNATURE_HEADER`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (LangGraph Server signs nothing;
the timestamp lets a receiver refuse replays).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import random
import time
from typing import Any

import httpx

from server.serialize import dumps

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Keel-Signature"
ATTEMPTS = 3
TIMEOUT_S = 10.0
MAX_SENDING = 16
BACKOFF_S = 0.5  # the first retry's wait; doubled each time, with jitter


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: float = 300.0) -> bool:
    """What a receiver does: the header is keel's signature of `body`, made within `tolerance_s`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


def payload(run: dict[str, Any], *, values: Any, error: str | None) -> dict[str, Any]:
    """LangGraph Server's webhook body: the run's fields, when it started and ended, and the thread's values."""
    body: dict[str, Any] = {
        key: run[key]
        for key in ("run_id", "thread_id", "assistant_id", "created_at", "updated_at", "metadata", "kwargs")
        if key in run
    }
    body["multitask_strategy"] = run.get("multitask_strategy")
    body["status"] = run["status"]
    body["run_started_at"] = run.get("started_at")
    body["run_ended_at"] = run.get("ended_at")
    body["webhook_sent_at"] = dt.datetime.now(dt.UTC).isoformat()
    body["values"] = values
    if error is not None:
        body["error"] = {"error": run["status"], "message": error}
    return body


def _retriable(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


class WebhookSender:
    """Background sends, at most `MAX_SENDING` at a time; `close` waits for them a while, then drops them."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self._client = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
        self._sending = asyncio.Semaphore(MAX_SENDING)
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str, body: dict[str, Any]) -> None:
        """POST `body` to `url` in the background; never raises."""
        task = asyncio.create_task(self._send(url, dumps(body).encode()), name=f"keel-webhook-{body.get('run_id')}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, url: str, content: bytes) -> None:
        async with self._sending:
            for attempt in range(1, ATTEMPTS + 1):
                headers = {"Content-Type": "application/json"}
                if self.secret:
                    headers[SIGNATURE_HEADER] = signature(self.secret, content, int(time.time()))
                try:
                    response = await self._client.post(url, content=content, headers=headers)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                else:
                    if not _retriable(response):
                        if response.is_error:
                            log.warning("webhook %s refused the run: HTTP %d", url, response.status_code)
                        return
                    problem = f"HTTP {response.status_code}"
                if attempt == ATTEMPTS:
                    log.warning("webhook %s failed after %d attempts: %s", url, ATTEMPTS, problem)
                    return
                await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1) * (1 + random.random() / 2))

    async def close(self, timeout: float) -> None:
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d webhook(s) dropped at shutdown", len(late))
        await self._client.aclose()
