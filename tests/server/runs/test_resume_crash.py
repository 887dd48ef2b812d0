"""A resume whose worker dies part-way through a step: the retry must neither fail for nor lose an answer the dead
attempt already used. keel sends every resume as a map from interrupt id to answer, with strict resume on; an
interrupt answered by the dead attempt is no longer pending when the retry starts from the same checkpoint (its
task finished or asked again, and its writes wait for the step's other tasks)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Run

from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import values_of
from tests.waiting import wait_until_async

pytestmark = pytest.mark.slow

# Two tasks in one step, each asking a person (`first` asks a follow-up when answered "ask again"). `second`
# blocks forever in a process where KEEL_TEST_BLOCK names a file (after touching it), so the test can kill that
# worker once `first` has used its answer while `second` runs: the step's checkpoint is never written.
PAIR = """
import asyncio
import operator
import os
from pathlib import Path
from typing import NamedTuple
from typing import Annotated

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

BLOCK = os.environ.get("KEEL_TEST_BLOCK", "")


class State(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def first(state: State) -> dict:
    answer = interrupt("first?")
    if answer == "ask again":
        answer = interrupt("first, again?")
    return {"answers": ["first: " + str(answer)]}


async def second(state: State) -> dict:
    if BLOCK:
        Path(BLOCK).write_text("reached")
        await asyncio.Event().wait()
    return {"answers": ["second: " + str(interrupt("second?"))]}


def build():
    graph = StateGraph(State)
    graph.add_node("first", first)
    graph.add_node("second", second)
    graph.add_edge(START, "first")
    graph.add_edge(START, "second")
    return graph
"""


@pytest.fixture
def pair(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    """A cluster serving PAIR as `pair`; the test starts its processes."""
    cluster = Cluster(tmp_path, database_url)
    (tmp_path / "pair.py").write_text(PAIR)
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"pair": "./pair.py:build"}}))
    try:
        yield cluster
    finally:
        cluster.stop_all()


class Crashed(NamedTuple):
    run: Run  # the resume, retried by a worker that does not block
    asked: dict[str, str]  # task name -> the interrupt it asked first


async def _resume_and_crash(tmp_path: Path, cluster: Cluster, client: LangGraphClient, answer: str, channel: str):
    """Both tasks ask; `first` is answered `answer` on a worker that is killed once `second` blocks and `first` has
    written `channel` (its output, or the answer it took before asking again); another worker retries the run."""
    thread_id = str((await client.threads.create())["thread_id"])
    asker = cluster.worker("asker")
    await client.runs.wait(thread_id, "pair", input={})
    asker.stop()
    tasks = {task["name"]: task for task in (await client.threads.get_state(thread_id))["tasks"]}
    asked = {name: task["interrupts"][0]["id"] for name, task in tasks.items()}

    reached = tmp_path / "reached"
    doomed = cluster.worker("doomed", extra={"KEEL_TEST_BLOCK": str(reached)})
    run = await client.runs.create(thread_id, "pair", command={"resume": {asked["first"]: answer}})
    await wait_until_async(reached.exists, what="the resumed step to reach `second`", interval=0.05)
    written = "SELECT 1 FROM checkpoint_writes WHERE thread_id = %s AND task_id = %s AND channel = %s"
    await wait_until_async(
        lambda: bool(cluster.query(written, thread_id, tasks["first"]["id"], channel)),
        what=f"`first` to write {channel}",
        interval=0.05,
    )
    doomed.stop(signal.SIGKILL)
    cluster.worker("successor")
    await client.runs.join(thread_id, run["run_id"])
    return Crashed(run=await client.runs.get(thread_id, run["run_id"]), asked=asked)


async def test_a_resume_retried_after_its_answered_task_finished_goes_on_without_it(tmp_path: Path, pair: Cluster):
    async with get_client(url=pair.api("api").base_url) as client:
        crashed = await _resume_and_crash(tmp_path, pair, client, "yes", "answers")
        after = await client.threads.get_state(crashed.run["thread_id"])
    assert (crashed.run["status"], crashed.run["attempt"]) == ("interrupted", 2), crashed.run
    # `first`'s answer landed once; only `second` still waits, on the same question.
    assert after["values"] == {"answers": ["first: yes"]}, after["values"]
    assert [i["id"] for i in after["interrupts"]] == [crashed.asked["second"]], after["interrupts"]


async def test_a_resume_retried_after_its_answered_task_asked_again_keeps_the_answer(tmp_path: Path, pair: Cluster):
    async with get_client(url=pair.api("api").base_url) as client:
        crashed = await _resume_and_crash(tmp_path, pair, client, "ask again", "__resume__")
        thread_id = crashed.run["thread_id"]
        waiting = await client.threads.get_state(thread_id)
        questions = {i["value"]: i["id"] for i in waiting["interrupts"]}
        assert (crashed.run["status"], crashed.run["attempt"]) == ("interrupted", 2), crashed.run
        # The retry did not ask the first question again: its answer was kept, and the follow-up waits.
        assert set(questions) == {"first, again?", "second?"}, waiting["interrupts"]
        assert questions["second?"] == crashed.asked["second"]
        answers = {questions["first, again?"]: "yes", questions["second?"]: "no"}
        await client.runs.wait(thread_id, "pair", command={"resume": answers})
        done = await client.threads.get_state(thread_id)
    assert sorted(values_of(done)["answers"]) == ["first: yes", "second: no"], done["values"]
    assert done["interrupts"] == [] and done["next"] == []
