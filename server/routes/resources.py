"""What keel's main resources look like in its OpenAPI document (shaped like the SDK's types).

These models describe responses only: routes return plain dicts (serialized as before) and name a model in
`responses=`, so a client, and schemathesis in the tests, can check every answer against the document.
`select` may leave fields out, so the search endpoints document `...Selected` variants, where no field is required.
"""

from __future__ import annotations

from types import GenericAlias
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from server.records import MultitaskStrategy, RunStatus, ThreadStatus

Json = dict[str, Any]


class Interrupt(BaseModel):
    value: Any
    id: str
    response_schema: Json | None = None


class ThreadTTLShown(BaseModel):
    strategy: str
    ttl_minutes: float
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class Thread(BaseModel):
    thread_id: str = Field(json_schema_extra={"format": "uuid"})
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    metadata: Json
    status: ThreadStatus
    config: Json
    values: Json | list[Any] | None
    interrupts: dict[str, list[Interrupt]] = Field(description="pending interrupts by task id")
    ttl: ThreadTTLShown | None = Field(
        default=None, description="only with `?include=ttl`: the thread's TTL, null when it has none"
    )


class Assistant(BaseModel):
    assistant_id: str = Field(json_schema_extra={"format": "uuid"})
    graph_id: str
    config: Json
    context: Json
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    metadata: Json
    version: int
    name: str
    description: str | None


class AssistantVersion(BaseModel):
    """One stored version of an assistant (`POST /assistants/{id}/versions`)."""

    assistant_id: str = Field(json_schema_extra={"format": "uuid"})
    graph_id: str
    config: Json
    context: Json
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    metadata: Json
    version: int
    name: str
    description: str | None


# The mypy plugin's generated __init__ takes **kwargs, which a field named `kwargs` clashes with.
class Run(BaseModel):  # type: ignore[no-redef]
    run_id: str = Field(json_schema_extra={"format": "uuid"})
    thread_id: str = Field(json_schema_extra={"format": "uuid"})
    assistant_id: str
    status: RunStatus
    metadata: Json
    multitask_strategy: MultitaskStrategy
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    attempt: int
    run_kwargs: Json = Field(
        alias="kwargs", description="what the run was created with (input or command, config, stream modes...)"
    )
    usage: Json
    error: str | None = Field(default=None, description="why the run failed; present only when it did")


class Cron(BaseModel):
    """A schedule that creates a run each time it is due (as LangGraph Server's cron)."""

    cron_id: str = Field(json_schema_extra={"format": "uuid"})
    assistant_id: str
    thread_id: str | None = Field(json_schema_extra={"format": "uuid"}, description="null: a new thread per run")
    on_run_completed: Literal["delete", "keep"] | None
    end_time: str | None = Field(json_schema_extra={"format": "date-time"})
    schedule: str
    timezone: str | None = Field(description="IANA time zone the schedule is read in; null is UTC")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    user_id: str | None
    payload: Json = Field(description="the run each firing creates")
    next_run_date: str = Field(json_schema_extra={"format": "date-time"})
    metadata: Json
    enabled: bool


class Item(BaseModel):
    """A document in the store: its namespace (a path of labels), key and value."""

    namespace: list[str]
    key: str
    value: Json
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class SearchItem(Item):
    score: float | None = Field(default=None, description="relevance to the search's `query`; null without one")


class SearchItemsResponse(BaseModel):
    items: list[SearchItem]


class ListNamespaceResponse(BaseModel):
    namespaces: list[list[str]]


class Checkpoint(BaseModel):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_map: Json | None


class Task(BaseModel):
    id: str
    name: str
    path: list[Any]
    error: str | None
    interrupts: list[Interrupt]
    checkpoint: Checkpoint | None
    state: ThreadState | None
    result: Any


class ThreadState(BaseModel):
    values: Json | list[Any]
    next: list[str]
    tasks: list[Task]
    metadata: Json | None
    created_at: str | None
    checkpoint: Checkpoint | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[Interrupt]


class CheckpointAnswer(BaseModel):
    """What a state update answers: the checkpoint it wrote."""

    checkpoint: Checkpoint | None


class StorageSection(BaseModel):
    count: int
    bytes: int


class ChannelStorage(BaseModel):
    versions: int
    bytes: int


class ChannelValuesStorage(StorageSection):
    by_channel: dict[str, ChannelStorage]


class ThreadStorage(BaseModel):
    """The bytes a thread's checkpoints take, as stored."""

    thread_id: str = Field(json_schema_extra={"format": "uuid"})
    total_bytes: int = Field(description="the sum of the three sections")
    checkpoints: StorageSection = Field(description="checkpoint rows: the checkpoint and its metadata")
    channel_values: ChannelValuesStorage = Field(description="stored channel values, a row per channel version")
    pending_writes: StorageSection = Field(description="task writes not yet folded into a checkpoint")


class ThreadPruneResult(BaseModel):
    pruned_count: int = Field(description="threads pruned (unknown ids are not counted)")


class ApprovalDecision(BaseModel):
    """One decision on an approval interrupt, from the audit trail (keel.approvals)."""

    approval_id: int
    interrupt_id: str
    action_index: int = Field(description="which of the interrupt's action requests (calls) this decides; 0 for one")
    thread_id: str = Field(json_schema_extra={"format": "uuid"})
    run_id: str | None = Field(
        json_schema_extra={"format": "uuid"}, description="the run that carries the answer; null for a discard"
    )
    tool: str
    proposed_args: Json
    decision: Literal["accept", "edit", "reject", "respond", "discard", "resolved", "extend", "stop"] = Field(
        description="extend and stop answer a budget interrupt (tool `budget`; final_args: an extend's amounts)"
    )
    final_args: Json | None = Field(description="what the tool runs with; null when it does not run")
    reason: str | None = Field(description="a reject's reason")
    message: str | None = Field(description="a respond's message")
    decider: str = Field(description="the decider's identity (empty without auth)")
    decider_name: str
    requested_by: str = Field(description="the identity that started the run that asked (empty when unknown)")
    decided_at: str = Field(json_schema_extra={"format": "date-time"})
    superseded_at: str | None = Field(
        json_schema_extra={"format": "date-time"},
        description="set when the decision's run never got past the approval and it was decided anew",
    )


class PendingApproval(BaseModel):
    """An approval interrupt waiting for a decision (the payload of nodes/approval.py, with its thread)."""

    interrupt_id: str
    thread_id: str = Field(json_schema_extra={"format": "uuid"})
    tool: str
    args: Json = Field(description="the proposed arguments")
    agent: str | None
    reason: str | None = Field(description="why the agent wants the call")
    description: str | None
    tool_call_id: str | None
    permission: str = Field(description="the permission deciding needs")
    two_person: bool = Field(description="whether the decider must not be the identity that started the run")
    requested_by: str
    waiting_since: str = Field(json_schema_extra={"format": "date-time"})
    calls: list[Json] = Field(description="every call the approval asks about (one model turn's), in order")
    action_requests: list[Json] | None = Field(description="LangChain's HITL schema: one per call")
    review_configs: list[Json] | None = Field(description="LangChain's HITL schema: allowed decisions per call")
    untrusted: list[Json] = Field(
        description="outside text the agent had read before proposing: {tool, source, agent, injection} each "
        "(empty: none)"
    )
    budget: Json | None = Field(
        default=None,
        description="for a budget interrupt (tool `budget`): the limits reached (`exceeded`), `spent`, `left`, "
        "`limits` per scope, answered with {'type': 'extend', 'by': {...}} or {'type': 'stop'}",
    )


class ToolInfo(BaseModel):
    """A tool the graphs can call: what an approval's form is generated from."""

    name: str
    description: str
    risk: Literal["read_only", "idempotent_write", "approval_required"]
    args_schema: Json = Field(description="the JSON schema its arguments are validated against")


class Error(BaseModel):
    """keel's error body: one message for the API user."""

    detail: str


class ValidationErrorBody(BaseModel):
    """422: a message of keel's, or FastAPI's per-field list with a one-line `message`."""

    detail: str | list[Json]
    message: str | None = None


def selected(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with no field required: what a response with `select` looks like."""
    fields: dict[str, Any] = {
        name: (field.annotation, Field(default=None, alias=field.alias, description=field.description))
        for name, field in model.model_fields.items()
    }
    partial: type[BaseModel] = create_model(f"{model.__name__}Selected", **fields)
    return partial


ThreadSelected = selected(Thread)
RunSelected = selected(Run)
AssistantSelected = selected(Assistant)
CronSelected = selected(Cron)
ThreadStateSelected = selected(ThreadState)

Task.model_rebuild()


# A run's final values, after a newline every 5 s while it runs (see `RunService.wait_response`).
WAITED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The run's final values (the thread's values, `__interrupt__` or `__error__`), after a "
        "newline every 5 s while the run goes on",
        "content": {"application/json": {"schema": {}}},
    }
}


def ok(model: Any) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` with 200."""
    return {200: {"model": model}}


def ok_list(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering a JSON array of `model` with 200."""
    return ok(GenericAlias(list, (model,)))


# `responses=` for a route answering a stream of server-sent events: sse-starlette sets the media type per
# response, so FastAPI would leave the answer undescribed.
SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A stream of server-sent events",
        # Each event, as OpenAPI describes a text/event-stream (3.2's itemSchema; `schema` before it): `data` holds
        # the event's JSON, `event` its mode (metadata, values, updates, messages, end, ...), `id` its place.
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {"type": "string"},
                        "event": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                }
            }
        },
    }
}
