"""`support`: a supervisor with read-only tools delegates to worker agents (account, billing, provisioning,
knowledge; each its own sub-graph and tool allowlist) until it can answer the request."""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.graph import START, StateGraph

import nodes
from graphs.agent import after_model, build_agent
from graphs.context import Context
from graphs.state import SupportState
from nodes.delegate import delegate_to
from nodes.run_tools import make_tool_runner
from nodes.spec import NodeSpec
from nodes.supervisor import READ_TOOLS, handoff_name, make_supervisor


def build(workers: Sequence[NodeSpec] | None = None) -> StateGraph[SupportState, Context, SupportState, SupportState]:
    """The uncompiled graph; `workers` defaults to the registry `nodes.SUPPORT_WORKERS` (read at call time)."""
    workers = tuple(nodes.SUPPORT_WORKERS if workers is None else workers)
    graph = StateGraph(SupportState, context_schema=Context)
    graph.add_node("supervisor", make_supervisor(workers))
    handoffs = {handoff_name(w): w.name for w in workers}
    runner = make_tool_runner(agent="supervisor", allowed=READ_TOOLS, back_to="supervisor", handoffs=handoffs)
    graph.add_node("tools", runner, destinations=("supervisor", *handoffs.values()))
    for worker in workers:
        graph.add_node(worker.name, delegate_to(build_agent(worker).compile(name=worker.name)))
        graph.add_edge(worker.name, "supervisor")
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges("supervisor", after_model, ["tools", "__end__"])
    return graph
