"""`support`: a supervisor with read-only tools delegates to worker agents (account, billing, provisioning,
knowledge, contracts; each its own sub-graph and tool allowlist) until it can answer the request."""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.graph import START, StateGraph

from graphs.agent_loop import after_model, build_agent_loop
from nodes import account, billing, contracts, knowledge, provisioning
from nodes.context import Context
from nodes.delegate import delegate_to
from nodes.run_tools import make_tool_runner
from nodes.spec import NodeSpec
from nodes.state import SupportState
from nodes.supervisor import TOOLS, handoff_name, make_supervisor

# The workers the supervisor delegates to, one line each: it learns about each from its description and keywords.
WORKERS: tuple[NodeSpec, ...] = (
    account.SPEC,
    billing.SPEC,
    provisioning.SPEC,
    knowledge.SPEC,
    contracts.SPEC,
)


def build(workers: Sequence[NodeSpec] = WORKERS) -> StateGraph[SupportState, Context, SupportState, SupportState]:
    """The uncompiled graph, with `WORKERS` unless a test passes others."""
    graph = StateGraph(SupportState, context_schema=Context)
    graph.add_node("supervisor", make_supervisor(workers))
    handoffs = {handoff_name(w): w.name for w in workers}
    runner = make_tool_runner(agent="supervisor", allowed=TOOLS, back_to="supervisor", handoffs=handoffs)
    graph.add_node("tools", runner, destinations=("supervisor", *handoffs.values()))
    for worker in workers:
        graph.add_node(worker.name, delegate_to(build_agent_loop(worker).compile(name=worker.name)))
        graph.add_edge(worker.name, "supervisor")
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges("supervisor", after_model, ["tools", "__end__"])
    return graph
