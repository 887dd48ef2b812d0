"""Crons (`client.crons.*`), as LangGraph Server's OpenAPI document and its SDK describe them: a cron on a thread
creates a run there each time its schedule is due, once per due time; crons can be read, searched, counted,
changed and deleted. The compat server polls for due crons every 0.2 s (KEEL_CRON_POLL), and the schedule uses
croniter's seconds field, so the test sees several due times within seconds."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.compat.conftest import eventually
from tests.process import KeelProcess

pytestmark = pytest.mark.slow

EVERY_SECOND = "* * * * * *"  # six fields: the last is seconds
NEVER_SOON = "0 0 1 1 *"


async def test_a_thread_cron_runs_on_its_thread_once_per_due_time(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    cron: Any = await client.crons.create_for_thread(  # the SDK types its answer as a Run; it is the cron
        thread_id, "echo", schedule=EVERY_SECOND, input={}, metadata={"job": "tick"}
    )
    assert cron["thread_id"] == thread_id and cron["schedule"] == EVERY_SECOND and cron["enabled"] is True

    async def fired_three_times() -> bool:
        return len(await client.runs.list(thread_id, limit=100)) >= 3

    await eventually(fired_three_times, "three runs of the cron")
    await client.crons.update(cron["cron_id"], enabled=False)
    runs: list[Any] = list(await client.runs.list(thread_id, limit=100))  # created_at is sent as a string
    for run in runs:
        await client.runs.join(thread_id, run["run_id"])
        assert run["metadata"] == {"job": "tick"}
    assert {(await client.runs.get(thread_id, run["run_id"]))["status"] for run in runs} == {"success"}
    # One run per due time: a due time is a whole second, and each firing moves the cron past its own second.
    seconds = {dt.datetime.fromisoformat(run["created_at"]).replace(microsecond=0) for run in runs}
    assert len(seconds) == len(runs), [run["created_at"] for run in runs]
    assert len(await client.runs.list(thread_id, limit=100)) == len(runs)  # disabled: no more runs


async def test_crons_are_read_searched_counted_changed_and_deleted(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    mine = {"suite": str(uuid.uuid4())}
    on_thread: Any = await client.crons.create_for_thread(
        thread["thread_id"], "echo", schedule=NEVER_SOON, metadata=mine
    )
    stateless: Any = await client.crons.create("echo", schedule=NEVER_SOON, metadata=mine, timezone="Europe/Paris")
    assert stateless["thread_id"] is None and stateless["on_run_completed"] == "delete"
    assert stateless["timezone"] == "Europe/Paris"
    assert dt.datetime.fromisoformat(stateless["next_run_date"]).astimezone(dt.UTC).hour == 23  # 00:00 in Paris

    assert await client.crons.count(metadata=mine) == 2
    assert await client.crons.count(thread_id=thread["thread_id"]) == 1
    found = await client.crons.search(metadata=mine, sort_by="created_at", sort_order="asc")
    assert [cron["cron_id"] for cron in found] == [on_thread["cron_id"], stateless["cron_id"]]
    only_ids = await client.crons.search(metadata=mine, select=["cron_id"])
    assert all(set(cron) == {"cron_id"} for cron in only_ids)

    changed = await client.crons.update(stateless["cron_id"], schedule="30 6 * * *", on_run_completed="keep")
    assert changed["schedule"] == "30 6 * * *" and changed["on_run_completed"] == "keep"
    assert changed["next_run_date"] != stateless["next_run_date"]

    await client.crons.delete(on_thread["cron_id"])
    with pytest.raises(NotFoundError):
        await client.crons.delete(on_thread["cron_id"])
    assert await client.crons.count(metadata=mine) == 1
    await client.crons.delete(stateless["cron_id"])


def test_a_cron_with_a_bad_schedule_or_time_zone_is_refused(compat_server: KeelProcess) -> None:
    url = f"{compat_server.base_url}/runs/crons"
    assert httpx.post(url, json={"assistant_id": "echo", "schedule": "not a cron"}).status_code == 422
    assert (
        httpx.post(url, json={"assistant_id": "echo", "schedule": "* * * * *", "timezone": "Mars/Base"}).status_code
        == 422
    )
    assert (
        httpx.post(
            f"{compat_server.base_url}/threads/{uuid.uuid4()}/runs/crons",
            json={"assistant_id": "echo", "schedule": "* * * * *"},
        ).status_code
        == 404
    )
    assert httpx.get(f"{compat_server.base_url}/runs/crons/{uuid.uuid4()}").status_code == 404
    cron = httpx.post(url, json={"assistant_id": "echo", "schedule": "0 0 1 1 *"}).json()
    assert httpx.patch(f"{url}/{cron['cron_id']}", json={}).status_code == 400  # nothing to change
    assert httpx.delete(f"{url}/{cron['cron_id']}").status_code == 204


def test_info_says_crons_are_served(compat_server: KeelProcess) -> None:
    assert httpx.get(f"{compat_server.base_url}/info").json()["flags"]["crons"] is True
