"""Every state type keel's graphs use, in one place.

State holds plain dicts, lists and LangChain messages only (no pydantic models), so a checkpoint written
by one process reads back in another without serde allow-listing. `messages` uses `add_messages`, which
replaces by message id: a sub-graph handing its messages back cannot duplicate them (an `operator.add`
list shared between a parent and a sub-graph would).
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer for results written by parallel branches, each under its own key."""
    return {**(left or {}), **(right or {})}


class AgentState(TypedDict):
    """One tool-using agent's own conversation (a worker sub-graph's whole state)."""

    messages: Annotated[list[AnyMessage], add_messages]
    turns: NotRequired[int]  # model turns so far; past Context.max_steps the agent stops and says so


class ToolCallDict(TypedDict):
    name: str
    args: dict[str, Any]
    id: str


class ApprovalTask(TypedDict):
    """What the tool runner sends to the approval node, one task per approval_required call."""

    call: ToolCallDict
    agent: str
    reason: str


class Delegation(TypedDict):
    """What the supervisor sends to a worker: the request, and the tool call the answer belongs to."""

    request: str
    tool_call_id: str
    tool_name: str


class SupportState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: NotRequired[int]  # supervisor turns so far


class OnboardingState(TypedDict):
    """The onboarding graph, and its enterprise_setup sub-graph (same keys; every reducer is idempotent, so
    the sub-graph handing its whole state back duplicates nothing)."""

    messages: Annotated[list[AnyMessage], add_messages]
    customer: NotRequired[dict[str, Any]]  # lookup_customer's result, found by intake
    route: NotRequired[str]  # standard_setup | enterprise_setup | billing_review
    checks: NotRequired[Annotated[dict[str, Any], merge_dicts]]  # check name -> the tool's result (or its error)
    planner: NotRequired[Annotated[list[AnyMessage], add_messages]]  # the planner's exchange with the validator
    plan: NotRequired[list[dict[str, Any]]]  # validated steps: {"tool": name, "args": {...}}
    plan_errors: NotRequired[list[str]]  # what the validator still rejected after the last revision
    revisions: NotRequired[int]
