"""The sub-graph every tool-using agent runs: model turn -> tool runner -> (approval per risky call) -> model
turn ... until the model answers without tool calls."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph

from nodes.approval import approval
from nodes.context import Context
from nodes.run_tools import make_tool_runner
from nodes.spec import NodeSpec
from nodes.state import AgentState


def after_model(state: dict[str, Any]) -> str:
    """To the tool runner when the model asked for tools, else done."""
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def build_agent_loop(spec: NodeSpec) -> StateGraph[AgentState, Context, AgentState, AgentState]:
    graph = StateGraph(AgentState, context_schema=Context)
    graph.add_node("agent", spec.fn, retry_policy=spec.retry)
    runner = make_tool_runner(agent=spec.name, allowed=spec.tools, back_to="agent")
    graph.add_node("tools", runner, destinations=("agent", "approval"))
    graph.add_node("approval", approval)  # type: ignore[arg-type]  # a Send target takes its payload, not the state
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", after_model, ["tools", END])
    graph.add_edge("approval", "agent")
    return graph
