"""A cron's schedule, read by croniter: five fields as LangGraph Server takes them (minute resolution), or
croniter's six, whose last field is seconds (a keel extension, for schedules finer than a minute)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from croniter import CroniterError, croniter

from server.errors import InvalidInput


def check(schedule: str, timezone: str | None) -> None:
    """422 for a schedule or a time zone that cannot be read, or a schedule with no next time (30 February)."""
    zone(timezone)
    try:
        next_after(schedule, timezone, dt.datetime.now(dt.UTC))
    except (CroniterError, ValueError, KeyError):
        raise InvalidInput(f"schedule: not a cron expression with a next time: {schedule!r}") from None


def zone(timezone: str | None) -> zoneinfo.ZoneInfo:
    """The schedule's time zone (IANA name); none means UTC, as on LangGraph Server."""
    try:
        return zoneinfo.ZoneInfo(timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("Europe")
        raise InvalidInput(f"timezone: unknown time zone {timezone!r}") from None


def next_after(schedule: str, timezone: str | None, after: dt.datetime) -> dt.datetime:
    """The first time strictly after `after` that the schedule names, read in its time zone."""
    following: dt.datetime = croniter(schedule, after.astimezone(zone(timezone))).get_next(dt.datetime)
    return following.astimezone(dt.UTC)
