"""The threads sync nodes run in, and leaving them behind at exit.

LangGraph runs a plain (sync) node in the event loop's default executor. A run that times out or is handed
back is cancelled, but its thread cannot be: a node stuck there (blocking I/O with no timeout, an endless
loop) keeps its thread forever. Python's default executor would then hold the process open at exit (the
loop's close and the interpreter both join every executor thread), so a process that once ran a poisoned run
could never stop. keel's executor neither waits for its threads on shutdown nor lets them hold the exit, and
has room for several stuck threads before sync nodes have to queue.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

_PREFIX = "keel-node"


class NodeThreads(ThreadPoolExecutor):
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: ARG002 -- never waits
        super().shutdown(wait=False, cancel_futures=True)


def install(loop: asyncio.AbstractEventLoop, slots: int) -> None:
    """Make keel's executor the loop's default: where LangGraph (and `asyncio.to_thread`) run sync code."""
    loop.set_default_executor(NodeThreads(max_workers=max(32, 4 * slots), thread_name_prefix=_PREFIX))


def stuck_threads(wait_s: float) -> list[threading.Thread]:
    """Threads of keel's executor still running `wait_s` after shutdown: nodes that never returned."""
    deadline = time.monotonic() + wait_s
    left = []
    for thread in threading.enumerate():
        if thread.name.startswith(_PREFIX):
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                left.append(thread)
    return left
