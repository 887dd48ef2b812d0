"""A crash in the run that carries an extension: the worker running it is SIGKILLed in a tool, another worker
retries it. The extension is read again from the audit row, so the retry goes on under the extended limit instead
of pausing again at the old one."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.server.runs.approvers import KEYS, TEAM, api_keys_env, audit_rows, write_auth_config
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow

REQUEST = "What is the billing status of cus_initech?"
# The support graph, with check_billing_status blocking forever in this process (once it touched the file named by
# KEEL_TEST_BLOCK_STATUS): the test kills the process there.
BLOCKING_SUPPORT = """
import asyncio
import os
from pathlib import Path

import tools
from graphs.support import build

_file = os.environ.get("KEEL_TEST_BLOCK_STATUS", "")
if _file:
    _spec = tools.TOOLS["check_billing_status"]

    async def _run(args, call):
        Path(_file).write_text("reached")
        await asyncio.Event().wait()

    object.__setattr__(_spec, "run", _run)  # ToolSpec is frozen; only this worker process blocks
"""


async def test_a_retried_run_keeps_the_extension_it_carries(tmp_path: Path, database_url: str):
    cluster = Cluster(tmp_path, database_url, env=api_keys_env() | {"KEEL_BUDGET_RUN": json.dumps({"model_calls": 1})})
    try:
        (tmp_path / "blocking_support.py").write_text(BLOCKING_SUPPORT)
        write_auth_config(tmp_path, {"support": "./blocking_support.py:build"})
        reached = tmp_path / "reached"
        api = cluster.api("api")
        first = cluster.worker("first")
        async with (
            get_client(url=api.base_url, api_key=KEYS["alice"]) as alice,
            get_client(url=api.base_url, api_key=KEYS["bob"]) as bob,
        ):
            thread = await alice.threads.create(metadata={"team": TEAM["alice"]})
            thread_id = str(thread["thread_id"])
            await alice.runs.wait(thread_id, "support", input=human(REQUEST))
            [paused] = (await alice.threads.get_state(thread_id))["interrupts"]
            # The supervisor's first call handed the request to billing, which paused before its own first call.
            assert (paused["value"]["agent"], paused["value"]["exceeded"][0]["max"]) == ("billing", 1)
            first.stop()

            doomed = cluster.worker("doomed", extra={"KEEL_TEST_BLOCK_STATUS": str(reached)})
            extend = {"type": "extend", "by": {"model_calls": 10}}
            resumed = await bob.runs.create(thread_id, "support", command={"resume": extend})
            await wait_until_async(reached.exists, what="the worker to reach check_billing_status", interval=0.05)
            doomed.stop(signal.SIGKILL)

            cluster.worker("successor")
            await bob.runs.join(thread_id, resumed["run_id"])
            run = dict(await bob.runs.get(thread_id, resumed["run_id"]))
            state = await bob.threads.get_state(thread_id)
        # The retry ran under the extended limit (11): the request needs fewer, so it ends with an answer.
        assert (run["status"], run["attempt"], state["interrupts"]) == ("success", 2, []), run
        [row] = audit_rows(database_url, thread_id)
        assert (row["decision"], row["final_args"], str(row["run_id"])) == (
            "extend",
            {"model_calls": 10},
            resumed["run_id"],
        )
    finally:
        cluster.stop_all()
