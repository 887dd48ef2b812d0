"""`onboarding`: intake finds the customer; a classifier routes to one of three sub-graphs:
- standard_setup and billing_review: tool-using agents (their own allowlists, approvals inside);
- enterprise_setup: billing, permissions and contract checks in parallel, joined; a planner whose plan is
  validated and revised on feedback; an executor that runs it (approval per risky step); a report."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

import nodes
from graphs.agent import build_agent
from graphs.context import Context
from graphs.state import OnboardingState
from nodes.approval import approval
from nodes.checks import SPECS as CHECKS
from nodes.intake import make_intake
from nodes.route_worker import make_route_worker

Graph = StateGraph[OnboardingState, Context, OnboardingState, OnboardingState]


def build_enterprise_setup() -> Graph:
    agents = nodes.ONBOARDING_AGENTS
    graph = StateGraph(OnboardingState, context_schema=Context)
    for check in CHECKS:  # fan out from the start, join at the planner
        graph.add_node(check.name, check.fn, retry_policy=check.retry)
        graph.add_edge(START, check.name)
    graph.add_node(
        "planner", agents["planner"].fn, retry_policy=agents["planner"].retry, destinations=("planner", "executor")
    )
    graph.add_edge([check.name for check in CHECKS], "planner")
    graph.add_node("executor", agents["executor"].fn, destinations=("approval", "report"))
    graph.add_node("approval", approval)  # type: ignore[arg-type]  # a Send target takes its payload, not the state
    graph.add_node("report", agents["report"].fn, retry_policy=agents["report"].retry)
    graph.add_edge("approval", "report")
    graph.add_edge("report", END)
    return graph


def build() -> Graph:
    agents = nodes.ONBOARDING_AGENTS  # read when building: nodes/ imports graphs.state, so not at import time
    graph = StateGraph(OnboardingState, context_schema=Context)
    intake = build_agent(agents["intake"]).compile(name="intake")
    graph.add_node("intake", make_intake(intake), destinations=("classifier", END))
    routes = ("standard_setup", "enterprise_setup", "billing_review")
    graph.add_node("classifier", agents["classifier"].fn, retry_policy=agents["classifier"].retry, destinations=routes)
    for route in ("standard_setup", "billing_review"):
        worker = build_agent(agents[route]).compile(name=route)
        graph.add_node(route, make_route_worker(route, worker))
        graph.add_edge(route, END)
    graph.add_node("enterprise_setup", build_enterprise_setup().compile(name="enterprise_setup"))
    graph.add_edge("enterprise_setup", END)
    graph.add_edge(START, "intake")
    return graph
