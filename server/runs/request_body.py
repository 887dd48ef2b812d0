"""The body of a run request, as the langgraph-sdk client sends it. As on LangGraph Server, a field keel does
not know is ignored (a newer client may send fields an older server lacks) and logged once at debug; a known
field with a wrong value or type is refused with a 422 naming it."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, cast, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from server.records import MultitaskStrategy, RunKwargs
from server.runs.execute import STREAM_MODES

log = logging.getLogger(__name__)
_IGNORED: set[tuple[str, str]] = set()  # (body, field) already logged: a client sends the same fields every time

StreamModeName = Literal[
    "values", "updates", "messages-tuple", "messages", "custom", "debug", "tasks", "checkpoints", "events"
]
STREAM_MODE_NAMES: tuple[str, ...] = get_args(StreamModeName)


def _configurable_is_an_object(config: dict[str, Any]) -> dict[str, Any]:
    configurable = config.get("configurable")
    if configurable is not None and not isinstance(configurable, dict):
        raise ValueError("config.configurable must be an object")
    return config


def _http_url(url: str) -> str:
    parsed = urlsplit(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise ValueError("webhook must be an absolute http(s) URL")
    return url


# A run's or an assistant's `config`: any keys LangGraph takes; `configurable` merges key by key with the assistant's.
RunnableConfig = Annotated[dict[str, Any], AfterValidator(_configurable_is_an_object)]


class LenientBody(BaseModel):
    """A request body that ignores fields it does not know, logging each (body, field) once at debug."""

    @model_validator(mode="before")
    @classmethod
    def _log_unknown(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = {field.alias or name for name, field in cls.model_fields.items()} | set(cls.model_fields)
            for name in data.keys() - known:
                if (cls.__name__, name) not in _IGNORED:
                    _IGNORED.add((cls.__name__, name))
                    log.debug("ignoring unknown field %r in a %s body", name, cls.__name__)
        return data


class RunCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(LenientBody):
    assistant_id: str = Field(min_length=1)
    input: Any = None
    command: RunCommand | None = None
    config: RunnableConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: list[StreamModeName] = Field(default=["values"])
    stream_subgraphs: bool = False
    stream_resumable: bool = False  # every keel stream is resumable; accepted for compatibility
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None  # deprecated by LangGraph in favour of durability
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    on_completion: Literal["delete", "keep"] | None = None
    durability: Literal["sync", "async", "exit"] = "sync"
    after_seconds: float | None = Field(default=None, ge=0)
    webhook: Annotated[str, AfterValidator(_http_url)] | None = None
    feedback_keys: list[str] | None = None
    strict_resume: bool | None = None
    langsmith_tracer: Any = None

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _input_or_command(self) -> RunCreate:
        if self.command is not None:
            self.input = None  # as LangGraph Server does: the command wins
        return self

    def run_kwargs(self) -> RunKwargs:
        """What the worker needs, stored on the run row."""
        kwargs = self.model_dump(
            include={
                "input",
                "command",
                "config",
                "context",
                "stream_mode",
                "stream_subgraphs",
                "interrupt_before",
                "interrupt_after",
                "checkpoint",
                "checkpoint_id",
                "durability",
                "on_disconnect",
                "on_completion",
                "after_seconds",
                "webhook",
            },
            exclude_none=True,
        )
        if self.command is not None:
            kwargs["command"] = self.command.model_dump(exclude_unset=True)
        return cast(RunKwargs, kwargs)


assert set(get_args(StreamModeName)) == set(STREAM_MODES)  # one list of modes, checked at import
