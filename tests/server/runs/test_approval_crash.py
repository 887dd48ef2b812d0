"""A crash between the decision and the tool: the worker running the accepted refund is SIGKILLed before the tool
writes (or after it wrote, before the checkpoint), another worker retries the run. The decision's audit row was
written with the run, so it exists once; the refund's idempotency key makes its effect exist once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.server.runs.approvers import KEYS, TEAM, api_keys_env, audit_rows, effects, write_auth_config
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow

REFUND = "Refund $12 of invoice inv_hooli_2026_11 for cus_hooli"
# The support graph, with issue_refund blocking forever in this process when KEEL_TEST_BLOCK_REFUND says so
# ("before:<file>" or "after:<file>" its write), once it has touched <file>: the test kills the process there.
BLOCKING_SUPPORT = """
import asyncio
import os
from pathlib import Path

import tools
from graphs.support import build

_mode, _, _file = os.environ.get("KEEL_TEST_BLOCK_REFUND", "").partition(":")
if _mode:
    _spec = tools.TOOLS["issue_refund"]
    _original = _spec.run

    async def _run(args, call):
        if _mode == "after":
            await _original(args, call)
        Path(_file).write_text(_mode)
        await asyncio.Event().wait()

    object.__setattr__(_spec, "run", _run)  # ToolSpec is frozen; only this worker process blocks
"""


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_worker_killed_between_decision_and_tool_leaves_one_row_and_one_effect(
    tmp_path: Path, database_url: str, when: str
):
    cluster = Cluster(tmp_path, database_url, env=api_keys_env())
    try:
        (tmp_path / "blocking_support.py").write_text(BLOCKING_SUPPORT)
        write_auth_config(tmp_path, {"support": "./blocking_support.py:build"})
        reached = tmp_path / "reached"
        api = cluster.api("api")
        doomed = cluster.worker("doomed", extra={"KEEL_TEST_BLOCK_REFUND": f"{when}:{reached}"})
        async with (
            get_client(url=api.base_url, api_key=KEYS["alice"]) as alice,
            get_client(url=api.base_url, api_key=KEYS["bob"]) as bob,
        ):
            thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
            thread_id = str(thread["thread_id"])
            await alice.runs.wait(thread_id, "support", input=human(REFUND))
            [refund] = (await alice.threads.get_state(thread_id))["interrupts"]
            before = effects(database_url)

            resumed = await bob.runs.create(thread_id, "support", command={"resume": {"type": "accept"}})
            await wait_until_async(reached.exists, what="the worker to reach issue_refund", interval=0.05)
            [row] = audit_rows(database_url, thread_id)  # committed with the run, before the tool ran
            assert (row["interrupt_id"], str(row["run_id"]), row["decider"]) == (refund["id"], resumed["run_id"], "bob")
            doomed.stop(signal.SIGKILL)

            cluster.worker("successor")
            await bob.runs.join(thread_id, resumed["run_id"])
            run = dict(await bob.runs.get(thread_id, resumed["run_id"]))
        assert run["status"] == "success" and run["attempt"] == 2, run
        after = effects(database_url)
        assert (after["refunds"], after["ledger"]) == (before["refunds"] + 1, before["ledger"] + 1)
        [row] = audit_rows(database_url, thread_id)
        assert (row["decision"], row["decider"], row["superseded_at"]) == ("accept", "bob", None)
    finally:
        cluster.stop_all()
