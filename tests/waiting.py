"""Waiting in tests and bench: poll a condition until it holds, with a deadline that only matters on failure.

Deadlines are generous because a busy machine is slow, not broken: a test waits for an event or a row, never
for a wall-clock budget. `KEEL_TEST_TIMEOUT_SCALE` multiplies every deadline (e.g. 3 on a heavily loaded CI
runner); `KEEL_TEST_READY_TIMEOUT` sets the wait for a started keel to answer (default 120 s, scaled).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

SCALE = float(os.environ.get("KEEL_TEST_TIMEOUT_SCALE", "1"))
DEFAULT_TIMEOUT = 60.0 * SCALE
READY_TIMEOUT = float(os.environ.get("KEEL_TEST_READY_TIMEOUT", "120")) * SCALE


def scaled(seconds: float) -> float:
    """A deadline of `seconds` on an idle machine, stretched by KEEL_TEST_TIMEOUT_SCALE."""
    return seconds * SCALE


class WaitTimeout(AssertionError):
    """The condition did not hold in time (an AssertionError, so pytest shows it as a failed check)."""


def _expired(what: str | Callable[[], str], timeout: float) -> WaitTimeout:
    return WaitTimeout(f"waited {timeout:.0f}s for {what() if callable(what) else what}")


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    what: str | Callable[[], str],
    interval: float = 0.05,
) -> T:
    """Call `predicate` until it returns something truthy, and return that. `what` names the condition in the
    failure (a callable is asked only then, e.g. for a log's tail). An AssertionError from the predicate
    (a process that died) ends the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _expired(what, timeout)
        time.sleep(interval)


@overload
async def wait_until_async(
    predicate: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = ...,
    what: str | Callable[[], str],
    interval: float = ...,
) -> T: ...


@overload
async def wait_until_async(
    predicate: Callable[[], T | None],
    *,
    timeout: float = ...,
    what: str | Callable[[], str],
    interval: float = ...,
) -> T: ...


async def wait_until_async(
    predicate: Callable[[], Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    what: str | Callable[[], str],
    interval: float = 0.05,
) -> Any:
    """`wait_until` for async tests: `predicate` may be a coroutine function; the loop keeps running while it
    waits."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _expired(what, timeout)
        await asyncio.sleep(interval)
