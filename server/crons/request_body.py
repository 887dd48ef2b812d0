"""The bodies of the cron requests, as the langgraph-sdk client sends them. A cron's create body is a run's
body (kept as the cron's payload, the run each firing creates) plus the schedule's fields."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from server.runs.request_body import LenientBody, RunCreate, RunnableConfig, StreamModeName

# The create body's fields that are the cron's own; the rest is the run's payload.
_SCHEDULE_FIELDS = frozenset(("schedule", "end_time", "enabled", "timezone", "on_run_completed"))


class CronCreate(RunCreate):
    schedule: str = Field(min_length=1, description="cron expression: five fields, or six with seconds last")
    end_time: dt.datetime | None = None
    enabled: bool = True
    timezone: str | None = Field(default=None, description="IANA time zone the schedule is read in; null is UTC")
    on_run_completed: Literal["delete", "keep"] | None = Field(
        default=None, description="a stateless cron's thread after each run: deleted (default) or kept"
    )

    def payload(self) -> dict[str, Any]:
        """The run each firing creates, as it was asked for (fields the request left out stay out)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=set(_SCHEDULE_FIELDS))


class CronPatch(LenientBody):
    """The fields to change; a run field given replaces the payload's."""

    schedule: str | None = Field(default=None, min_length=1)
    end_time: dt.datetime | None = None
    enabled: bool | None = None
    timezone: str | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    metadata: dict[str, Any] | None = None
    input: Any = None
    config: RunnableConfig | None = None
    context: dict[str, Any] | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    stream_mode: list[StreamModeName] | StreamModeName | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    webhook: str | None = None

    def payload_changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude=set(_SCHEDULE_FIELDS))
