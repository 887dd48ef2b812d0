"""The onboarding classifier alone: each labelled request, with what intake found about its customer, routed by the
classifier node itself (nodes/classifier.py) with the configured model."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from evals.components import Case, ComponentResult, desk, labelled
from nodes import intake
from nodes.classifier import classifier
from nodes.context import Context, ModelProvider
from nodes.state import OnboardingState

INTAKE_TOOLS = ("lookup_customer", "check_billing_status")


async def intake_report(models: ModelProvider, request: str, found: dict[str, Any]) -> str:
    """What intake says it found: the tool results of the desk snapshot, summed up by the worker model as the intake
    agent would after calling both tools."""
    calls = [
        {"name": tool, "args": {"customer_id": found["lookup_customer"]["customer_id"]}, "id": tool}
        for tool in INTAKE_TOOLS
    ]
    conversation = [
        SystemMessage(intake.PROMPT),
        HumanMessage(request),
        AIMessage(content="", tool_calls=calls),
        *(ToolMessage(json.dumps(found[tool]), tool_call_id=tool, name=tool) for tool in INTAKE_TOOLS),
    ]
    reply = await models.chat("worker").ainvoke(conversation)
    return str(reply.content)


async def route(models: ModelProvider, request: str, customer: str) -> str:
    found = desk()[customer]
    report = await intake_report(models, request, found)
    state: OnboardingState = {
        "messages": [HumanMessage(request), AIMessage(report, name="intake")],
        "customer": found["lookup_customer"],
    }
    runtime = Runtime(context=Context(db=None, models=models))
    command = await classifier(state, runtime, RunnableConfig())
    return str(command.goto)


async def evaluate(models: ModelProvider) -> ComponentResult:
    cases = []
    for item in labelled("routes.yaml", {"request", "customer", "route"}):
        got = await route(models, item["request"], item["customer"])
        cases.append(
            Case(
                name=f"{item['customer']}: {item['request']}",
                expected=item["route"],
                got=got,
                passed=got == item["route"],
            )
        )
    return ComponentResult.of("classifier", cases)
