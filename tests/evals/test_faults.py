"""The tool fault hook for chaos evals (nodes/faults.py, KEEL_TOOL_FAULTS): a fault is drawn per call from a hash, so
repeats fail the same way; it takes the path a real timeout or 5xx takes; it strikes before the tool, so a write
stays exactly-once."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from langchain_core.messages import HumanMessage
from langgraph.runtime import ExecutionInfo, Runtime

from nodes.context import Context
from nodes.faults import FaultRates, ToolFaults
from nodes.run_tools import execute
from nodes.state import ToolCallDict
from server.runs.context import context_builder
from server.settings import SettingsError, get_settings
from tests.graphs.harness import OfflineModels, answer, open_desk, open_pool, registered
from tools import TOOLS
from tools.limits import Limits

THREAD = "thread-chaos"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Any]:
    async with open_pool(database_url) as opened:
        yield opened


def runtime(pool: Any, faults: ToolFaults | None) -> Runtime[Context]:
    info = ExecutionInfo(checkpoint_id="checkpoint", checkpoint_ns="", task_id="task", thread_id=THREAD)
    return Runtime(context=Context(db=pool, models=OfflineModels(), faults=faults), execution_info=info)


def always(tool: str, fault: str) -> ToolFaults:
    return ToolFaults(rates={tool: FaultRates(**{fault: 1.0})})


async def call(pool: Any, faults: ToolFaults | None, tool: str, call_id: str, **args: Any) -> Any:
    made = ToolCallDict(name=tool, args=args, id=call_id)
    return await execute(made, TOOLS[tool], runtime(pool, faults), agent="billing")


def test_a_call_meets_the_same_fault_every_time_and_faults_come_at_their_rates():
    faults = ToolFaults(rates={"check_billing_status": FaultRates(timeout=0.2, error=0.3)}, seed=7)
    drawn = [faults.draw("check_billing_status", THREAD, f"call_{n}") for n in range(2000)]
    assert drawn == [faults.draw("check_billing_status", THREAD, f"call_{n}") for n in range(2000)]
    assert 0.17 < drawn.count("timeout") / 2000 < 0.23
    assert 0.27 < drawn.count("error") / 2000 < 0.33
    reseeded = ToolFaults(rates=faults.rates, seed=8)
    assert drawn != [reseeded.draw("check_billing_status", THREAD, f"call_{n}") for n in range(2000)]
    assert faults.draw("lookup_customer", THREAD, "call_0") is None  # a tool not named never fails


async def test_an_injected_timeout_reaches_the_model_as_a_real_timeout_does(pool):
    reply = await call(
        pool, always("check_billing_status", "timeout"), "check_billing_status", "c1", customer_id="cus_acme"
    )
    assert reply.status == "error"
    spec = TOOLS["check_billing_status"]
    assert (
        reply.content
        == f"Error: check_billing_status timed out after {spec.timeout_s:g}s; try again later or ask a person"
    )


async def test_an_injected_5xx_reaches_the_model_as_a_tool_error(pool):
    reply = await call(
        pool, always("check_billing_status", "error"), "check_billing_status", "c1", customer_id="cus_acme"
    )
    assert reply.status == "error"
    assert reply.content.startswith("Error: check_billing_status failed: upstream 503")
    fine = await call(pool, None, "check_billing_status", "c1", customer_id="cus_acme")
    assert fine.status == "success" and "cus_acme" in fine.content


async def test_a_write_stays_exactly_once_under_faults(pool):
    args = {"customer_id": "cus_acme", "name": "Chaos"}

    async def workspaces() -> int:
        async with pool.connection() as conn:
            row = await (
                await conn.execute("SELECT count(*) AS n FROM desk.workspaces WHERE name = 'Chaos'")
            ).fetchone()
            return int(row["n"])

    for fault in ("timeout", "error"):  # the fault strikes before the tool: nothing is written
        failed = await call(pool, always("create_workspace", fault), "create_workspace", "w1", **args)
        assert failed.status == "error"
    assert await workspaces() == 0
    # The same call again (a replay: same thread, task and call id, so the same idempotency key), now without a fault,
    # writes once however often it runs.
    for _ in range(2):
        done = await call(pool, None, "create_workspace", "w1", **args)
        assert done.status == "success"
    assert await workspaces() == 1


def test_the_setting_is_checked_and_handed_to_graphs_through_context(monkeypatch):
    monkeypatch.setenv("KEEL_TOOL_FAULTS", json.dumps({"check_billing_status": {"timeout": 0.2, "error": 0.2}}))
    monkeypatch.setenv("KEEL_TOOL_FAULTS_SEED", "42")
    faults = get_settings().runs.faults
    assert faults == ToolFaults(rates={"check_billing_status": FaultRates(timeout=0.2, error=0.2)}, seed=42)
    built = context_builder(cast(Any, None), cast(Any, None), Limits(), faults)
    graph = cast(Any, type("Graph", (), {"context_schema": Context}))
    # A run's own context cannot turn faults off or on: the server's setting wins.
    assert built(graph, {"faults": None, "max_steps": 3}).faults == faults

    for bad, says in (
        ({"no_such_tool": {"error": 0.5}}, "unknown tools ['no_such_tool']"),
        ({"check_billing_status": {"timeout": 0.7, "error": 0.7}}, "at most 1"),
        ({"check_billing_status": {"timout": 0.1}}, "timout"),
    ):
        monkeypatch.setenv("KEEL_TOOL_FAULTS", json.dumps(bad))
        get_settings.cache_clear()
        with pytest.raises(SettingsError, match="KEEL_TOOL_FAULTS") as refused:
            get_settings()
        assert says in str(refused.value)


def test_no_setting_means_no_faults():
    assert get_settings().runs.faults is None


async def test_the_support_graph_meets_an_injected_fault_with_an_answer_not_a_crash(database_url: str):
    faults = always("check_billing_status", "error")
    async with open_desk(database_url, registered("support")) as desk:
        context = dataclasses.replace(desk.context, faults=faults)
        config = desk.config("thread-faulted")
        values = await desk.graph.ainvoke(
            {"messages": [HumanMessage("What is the billing status of cus_initech?")]},
            config,
            context=context,
            durability="sync",
        )
    assert "upstream 503" in answer(values)  # the worker reports the failure it met; nothing raised
