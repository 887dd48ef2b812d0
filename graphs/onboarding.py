"""`onboarding`: intake finds the customer; a classifier routes to one of three sub-graphs:
- standard_setup and billing_review: tool-using agents (their own allowlists, approvals inside);
- enterprise_setup: billing, permissions and contract checks in parallel, joined; a planner whose plan is
  validated and revised on feedback; an executor that runs it (approval per risky step); a report."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graphs.agent_loop import build_agent_loop
from nodes import billing_review, classifier, executor, intake, planner, report, standard_setup
from nodes.approval import approval
from nodes.checks import SPECS as CHECKS
from nodes.context import Context
from nodes.intake import make_intake
from nodes.route_worker import make_route_worker
from nodes.state import OnboardingState

Graph = StateGraph[OnboardingState, Context, OnboardingState, OnboardingState]


def build_enterprise_setup() -> Graph:
    graph = StateGraph(OnboardingState, context_schema=Context)
    for check in CHECKS:  # fan out from the start, join at the planner
        graph.add_node(check.name, check.fn, retry_policy=check.retry)
        graph.add_edge(START, check.name)
    graph.add_node("planner", planner.SPEC.fn, retry_policy=planner.SPEC.retry, destinations=("planner", "executor"))
    graph.add_edge([check.name for check in CHECKS], "planner")
    graph.add_node("executor", executor.SPEC.fn, destinations=("approval", "report"))
    graph.add_node("approval", approval)  # type: ignore[arg-type]  # a Send target takes its payload, not the state
    graph.add_node("report", report.SPEC.fn, retry_policy=report.SPEC.retry)
    graph.add_edge("approval", "report")
    graph.add_edge("report", END)
    return graph


def build() -> Graph:
    graph = StateGraph(OnboardingState, context_schema=Context)
    intake_loop = build_agent_loop(intake.SPEC).compile(name="intake")
    graph.add_node("intake", make_intake(intake_loop), destinations=("classifier", END))
    routes = ("standard_setup", "enterprise_setup", "billing_review")
    graph.add_node("classifier", classifier.SPEC.fn, retry_policy=classifier.SPEC.retry, destinations=routes)
    for spec in (standard_setup.SPEC, billing_review.SPEC):
        worker = build_agent_loop(spec).compile(name=spec.name)
        graph.add_node(spec.name, make_route_worker(spec.name, worker))
        graph.add_edge(spec.name, END)
    graph.add_node("enterprise_setup", build_enterprise_setup().compile(name="enterprise_setup"))
    graph.add_edge("enterprise_setup", END)
    graph.add_edge(START, "intake")
    return graph
