"""The body of a run request, as the langgraph-sdk client sends it. Unknown fields are refused with a 422
naming them, so a typo never silently changes what a run does."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from server.records import MultitaskStrategy, RunKwargs
from server.runs.execute import STREAM_MODES

StreamModeName = Literal["values", "updates", "messages-tuple", "messages", "custom", "debug", "tasks", "checkpoints"]


def _configurable_is_an_object(config: dict[str, Any]) -> dict[str, Any]:
    configurable = config.get("configurable")
    if configurable is not None and not isinstance(configurable, dict):
        raise ValueError("config.configurable must be an object")
    return config


# A run's or an assistant's `config`: any keys LangGraph takes; `configurable` merges key by key with the assistant's.
RunnableConfig = Annotated[dict[str, Any], AfterValidator(_configurable_is_an_object)]


class RunCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    webhook: str | None = None
    feedback_keys: list[str] | None = None
    strict_resume: bool | None = None
    langsmith_tracer: Any = None

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _input_or_command(self) -> RunCreate:
        if self.command is not None and self.input is not None:
            raise ValueError("pass either input or command, not both")
        if self.webhook is not None:
            raise ValueError("webhook is not supported by keel; follow the run with join or join_stream instead")
        if self.after_seconds:
            raise ValueError("after_seconds is not supported by keel yet; create the run when it should start")
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
            },
            exclude_none=True,
        )
        if self.command is not None:
            kwargs["command"] = self.command.model_dump(exclude_unset=True)
        return cast(RunKwargs, kwargs)


assert set(get_args(StreamModeName)) == set(STREAM_MODES)  # one list of modes, checked at import
