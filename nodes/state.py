"""Every state type keel's graphs use, in one place.

State holds plain dicts, lists and LangChain messages only (no pydantic models), so a checkpoint written
by one process reads back in another without serde allow-listing. `messages` uses `add_messages`, which
replaces by message id: a sub-graph handing its messages back cannot duplicate them (an `operator.add`
list shared between a parent and a sub-graph would).

Message lists are `Messages`: a `DeltaChannel` (LangGraph, beta) over `add_messages`. A plain reducer channel
stores the whole list again in every checkpoint that changes it, so a thread's storage grows with the square
of its length; a DeltaChannel stores only each step's new messages (the checkpoint writes LangGraph keeps
anyway) plus a full snapshot every `SNAPSHOT_EVERY` updates, and rebuilds the list by replaying writes. Every
checkpoint stays readable, so history and forks from an earlier checkpoint work as before (tests/graphs/
test_state_storage.py), and checkpoints written before the change still load (a plain list is read as is).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NotRequired, cast

from langchain_core.messages import AnyMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import Messages as MessagesUpdate
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

# Full copies of a list at most every this many updates: bounds the writes replayed to rebuild it.
SNAPSHOT_EVERY = 500


def add_message_batches(messages: list[AnyMessage], updates: Sequence[MessagesUpdate]) -> list[AnyMessage]:
    """The DeltaChannel reducer: `add_messages` folded over a batch of updates, oldest first. Folding makes
    it batching-invariant, as DeltaChannel requires (two batches applied in turn == their concatenation)."""
    merged: Any = messages  # add_messages is typed with its own loose union of message-like values
    for update in updates:
        merged = add_messages(merged, update)  # a new list each time: the channel's value is never mutated
    return cast(list[AnyMessage], merged)


Messages = Annotated[list[AnyMessage], DeltaChannel(add_message_batches, snapshot_frequency=SNAPSHOT_EVERY)]


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer for results written by parallel branches, each under its own key."""
    return {**(left or {}), **(right or {})}


class AgentState(TypedDict):
    """One tool-using agent's own conversation (a worker sub-graph's whole state)."""

    messages: Messages
    turns: NotRequired[int]  # model turns so far; past Context.max_steps the agent stops and says so


class ToolCallDict(TypedDict):
    name: str
    args: dict[str, Any]
    id: str


class ApprovalTask(TypedDict):
    """What the tool runner sends to the approval node: the approval_required calls of one model turn (one
    interrupt for all of them). `call` is the one call of a task sent before keel grouped a turn's calls: a
    checkpoint written then still resumes."""

    calls: NotRequired[list[ToolCallDict]]
    call: NotRequired[ToolCallDict]
    agent: str
    reason: str
    untrusted: NotRequired[list[Any]]  # outside text the agent had read (nodes/untrusted.py `Read`s)


class Delegation(TypedDict):
    """What the supervisor sends to a worker: the request, and the tool call the answer belongs to."""

    request: str
    tool_call_id: str
    tool_name: str
    untrusted: NotRequired[list[Any]]  # outside text the asking agent had read, handed on (nodes/untrusted.py)


class SupportState(TypedDict):
    messages: Messages
    turns: NotRequired[int]  # supervisor turns so far


class OnboardingState(TypedDict):
    """The onboarding graph, and its enterprise_setup sub-graph (same keys; every reducer is idempotent, so
    the sub-graph handing its whole state back duplicates nothing)."""

    messages: Messages
    customer: NotRequired[dict[str, Any]]  # lookup_customer's result, found by intake
    route: NotRequired[str]  # standard_setup | enterprise_setup | billing_review
    checks: NotRequired[Annotated[dict[str, Any], merge_dicts]]  # check name -> the tool's result (or its error)
    planner: NotRequired[Messages]  # the planner's exchange with the validator
    plan: NotRequired[list[dict[str, Any]]]  # validated steps: {"tool": name, "args": {...}}
    plan_errors: NotRequired[list[str]]  # what the validator still rejected after the last revision
    revisions: NotRequired[int]
