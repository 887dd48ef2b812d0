"""What every tool declares: a name, an argument schema, a risk level, a timeout, and the coroutine
that does the work. Risk is data, and the default is the strictest level. An approval_required tool also says
who may decide on its approvals (a permission) and when a second person must (the two-person rule). A tool whose
result carries outside text (text keel's operators did not write: knowledge-base articles, customer-written notes)
says where each piece came from (`untrusted`), so the agent can flag it (nodes/untrusted.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, ValidationError

from tools.limits import Limits


class Risk(StrEnum):
    READ_ONLY = "read_only"  # no side effects: retry and replay freely
    IDEMPOTENT_WRITE = "idempotent_write"  # writes once per idempotency key; a repeat returns the first result
    APPROVAL_REQUIRED = "approval_required"  # runs only after a person accepts (or edits) the call


# What a reviewer may do with a tool's approval, in LangChain's HumanInTheLoopMiddleware vocabulary (its
# `review_configs[].allowed_decisions`): run it as proposed, run it with edited arguments, or not run it.
# keel's own decisions map onto these: accept -> approve, edit -> edit, reject and respond -> reject.
Decision = Literal["approve", "edit", "reject"]
ALL_DECISIONS: tuple[Decision, ...] = ("approve", "edit", "reject")

# The permission a caller needs to decide on (accept, edit, reject, answer) a tool's approval, unless its spec
# names another. Checked by the server only when langgraph.json has `auth`.
DECIDE_PERMISSION = "approvals:decide"


@dataclass(frozen=True)
class Outside:
    """A piece of outside text in a tool's result, and where it came from (e.g. "kb/refunds-policy.md")."""

    source: str
    text: str


class ToolArgs(BaseModel):
    """Base for argument schemas: unknown fields are refused (a misspelt argument is an error the model
    sees, not a silently ignored value) and surrounding whitespace is stripped from strings."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """Everything a tool may use besides its arguments. `db` is the desk database (a psycopg
    AsyncConnectionPool, handed in through the graph's runtime context; tools never open one). `store` is
    LangGraph's long-term store (`runtime.store`), None when the graph runs without one."""

    db: Any
    idempotency_key: str
    thread_id: str
    agent: str
    store: BaseStore | None = None


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, ToolCall], Awaitable[Any]]  # (validated args, call) -> JSON-able result
    risk: Risk = Risk.APPROVAL_REQUIRED
    timeout_s: float = 10.0
    approver_permission: str = DECIDE_PERMISSION  # what deciding on this tool's approval needs
    # True, or a predicate over the validated arguments and the deployment's limits: when it holds, the decider must
    # not be the identity that started the run that asked (e.g. refunds from an amount). Evaluated on the proposed
    # and on edited arguments.
    two_person: bool | Callable[[Any, Limits], bool] = False
    allowed_decisions: tuple[Decision, ...] = ALL_DECISIONS  # what a reviewer may decide on its approvals
    # The outside text in a result (None: the tool returns none). Read by the agent as data, never as orders: an
    # approval proposed after reading it says so, and instruction-like text in it is reported as an injection.
    untrusted: Callable[[Any], Sequence[Outside]] | None = None

    def needs_two_people(self, args: dict[str, Any], limits: Limits) -> bool:
        """Whether the two-person rule applies to a call with these (raw) arguments. Arguments the schema refuses
        count as needing two people: the rule must not be escaped by a call that cannot run anyway."""
        if isinstance(self.two_person, bool):
            return self.two_person
        try:
            validated = self.args.model_validate(args)
        except ValidationError:
            return True
        return bool(self.two_person(validated, limits))


class ToolError(Exception):
    """A failure the model can act on (not found, invalid state). `str()` is shown to the model."""


def as_langchain_tool(spec: ToolSpec) -> dict[str, Any]:
    """The OpenAI function-tool schema for `spec` (what `BaseChatModel.bind_tools` accepts):
    `{"type": "function", "function": {"name", "description", "parameters"}}`."""
    tool = convert_to_openai_tool(spec.args)
    tool["function"]["name"] = spec.name
    tool["function"]["description"] = spec.description
    return tool
