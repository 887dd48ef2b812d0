"""Two identities, one keel, a user's auth.py as LangGraph's docs write it: the tutorial's owner stamping and
filters on every resource, and the store handler of LangGraph's store-isolation guide (a namespace starts with
the caller's identity; one that names nobody is scoped to the caller). Through the official SDK, bob tries every
operation on alice's threads, runs, state, history, streams, copies, assistants, crons and store items: each is
counted, and each answer must be a 404 or 403 without any of alice's data in it. Searches, counts and listings
never include alice's."""

from __future__ import annotations

import inspect
import json
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.server.auth.test_custom_auth import WHOAMI, client_for
from tests.server.conftest import KeelServer

pytestmark = pytest.mark.slow

# The store-isolation pattern of LangGraph's docs, appended to the tutorial's auth.py.
STORE_HANDLER = '''

@auth.on.store()
async def scope_store(ctx: Auth.types.AuthContext, value: dict):
    """Each user's items live under their identity: a namespace must start with it; none at all means theirs."""
    namespace = tuple(value.get("namespace") or ())
    if not namespace:
        value["namespace"] = (ctx.user.identity,)
        return
    assert namespace[0] == ctx.user.identity, "Not authorized"
'''
NEVER_SOON = "0 0 1 1 *"
# What only alice's resources hold: none of it may reach bob, whatever the status of the answer.
SECRETS = ("alice-topic", "alice-assistant", "alice-cron", "alice-note", "Alice")


def serve_two_identities(tmp_path: Path, keel_server: Callable[..., KeelServer]) -> KeelServer:
    (tmp_path / "whoami.py").write_text(WHOAMI)
    shutil.copy(Path(__file__).with_name("docs_auth.py"), tmp_path / "auth.py")
    with (tmp_path / "auth.py").open("a") as auth_py:
        auth_py.write(STORE_HANDLER)
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"whoami": "./whoami.py:graph"}, "auth": {"path": "./auth.py:auth"}}))
    return keel_server(config, workers=1)


@dataclass
class Sweep:
    """Attempts on another's resources; a leak is a 2xx, or an answer holding any of their data."""

    secrets: tuple[str, ...]
    attempts: int = 0
    leaks: list[str] = field(default_factory=list)

    async def attempt(self, name: str, call: Callable[[], Awaitable[Any]]) -> None:
        self.attempts += 1
        try:
            answer = await call()
        except httpx.HTTPStatusError as exc:  # the SDK's own errors are HTTPStatusErrors too
            status, text = exc.response.status_code, exc.response.text
        else:
            status, text = 200, json.dumps(answer, default=str)
        if status not in (403, 404) or any(secret in text for secret in self.secrets):
            self.leaks.append(f"{name}: {status} {text[:300]}")


async def drain(stream: Any) -> list[Any]:
    """Every part of an SDK stream (`threads.join_stream` is awaited first, `runs.*` streams are not)."""
    if inspect.isawaitable(stream):
        stream = await stream
    return [part async for part in stream]


async def test_every_operation_on_the_others_resources_is_refused_without_a_leak(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    server = serve_two_identities(tmp_path, keel_server)
    async with client_for(server, "user1-token") as alice, client_for(server, "user2-token") as bob:
        await sweep_alices_resources_as_bob(server, alice, bob)


async def sweep_alices_resources_as_bob(server: KeelServer, alice: LangGraphClient, bob: LangGraphClient) -> None:
    # alice's resources, each stamped with her as owner by the tutorial's handler
    thread = await alice.threads.create(metadata={"topic": "alice-topic"})
    thread_id = thread["thread_id"]
    await alice.runs.wait(thread_id, "whoami", input={})
    [run] = await alice.runs.list(thread_id)
    run_id = run["run_id"]
    assistant = await alice.assistants.create("whoami", name="alice-assistant", metadata={"note": "alice-assistant"})
    assistant_id = assistant["assistant_id"]
    assert assistant["metadata"] == {"note": "alice-assistant", "owner": "user1"}
    private = {"j": "alice-cron"}
    cron: Any = await alice.crons.create_for_thread(thread_id, "whoami", schedule=NEVER_SOON, metadata=private)
    stateless_cron: Any = await alice.crons.create(assistant_id, schedule=NEVER_SOON, metadata=private)
    assert cron["metadata"]["owner"] == "user1" and cron["user_id"] == "user1"
    await alice.store.put_item(["user1", "notes"], "n1", {"text": "alice-note"})
    await alice.store.put_item([], "n2", {"text": "alice-note"})  # scoped to ("user1",) by the handler

    # bob's own, so that his searches answer something
    own_thread = await bob.threads.create(metadata={"topic": "bob-topic"})
    own_assistant = await bob.assistants.create("whoami", name="bob-assistant")
    await bob.crons.create_for_thread(own_thread["thread_id"], "whoami", schedule=NEVER_SOON)
    await bob.store.put_item(["user2", "notes"], "n1", {"text": "bob-note"})

    sweep = Sweep(SECRETS)
    http = httpx.AsyncClient(base_url=server.url, headers={"Authorization": "Bearer user2-token"})

    async def raising(response: Awaitable[httpx.Response]) -> Any:
        answer = (await response).raise_for_status()
        return answer.json() if answer.content else None

    batch_of_one: Any = {"assistant_id": assistant_id, "input": {}}  # the SDK types each as a full RunCreate
    operations: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        # threads, state, history, copy
        ("threads.get", lambda: bob.threads.get(thread_id)),
        ("threads.update", lambda: bob.threads.update(thread_id, metadata={"owner": "user2"})),
        ("threads.delete", lambda: bob.threads.delete(thread_id)),
        ("threads.copy", lambda: bob.threads.copy(thread_id)),
        ("threads.get_state", lambda: bob.threads.get_state(thread_id)),
        ("threads.get_history", lambda: bob.threads.get_history(thread_id)),
        ("threads.update_state", lambda: bob.threads.update_state(thread_id, {"caller": "bob"})),
        ("threads.storage", lambda: raising(http.get(f"/threads/{thread_id}/storage"))),
        ("threads.join_stream", lambda: drain(bob.threads.join_stream(thread_id))),
        # runs and their streams
        ("runs.list", lambda: bob.runs.list(thread_id)),
        ("runs.get", lambda: bob.runs.get(thread_id, run_id)),
        ("runs.join", lambda: bob.runs.join(thread_id, run_id)),
        ("runs.join_stream", lambda: drain(bob.runs.join_stream(thread_id, run_id))),
        ("runs.cancel", lambda: bob.runs.cancel(thread_id, run_id)),
        ("runs.delete", lambda: bob.runs.delete(thread_id, run_id)),
        ("runs.create", lambda: bob.runs.create(thread_id, "whoami", input={})),
        ("runs.wait", lambda: bob.runs.wait(thread_id, "whoami", input={})),
        ("runs.stream", lambda: drain(bob.runs.stream(thread_id, "whoami", input={}))),
        # alice's assistant: read, changed, run
        ("assistants.get", lambda: bob.assistants.get(assistant_id)),
        ("assistants.update", lambda: bob.assistants.update(assistant_id, metadata={"owner": "user2"})),
        ("assistants.delete", lambda: bob.assistants.delete(assistant_id)),
        ("assistants.get_graph", lambda: bob.assistants.get_graph(assistant_id)),
        ("assistants.get_schemas", lambda: bob.assistants.get_schemas(assistant_id)),
        ("assistants.get_subgraphs", lambda: bob.assistants.get_subgraphs(assistant_id)),
        ("assistants.get_versions", lambda: bob.assistants.get_versions(assistant_id)),
        ("assistants.set_latest", lambda: bob.assistants.set_latest(assistant_id, 1)),
        ("runs.wait (her assistant)", lambda: bob.runs.wait(own_thread["thread_id"], assistant_id, input={})),
        ("runs.wait stateless (her assistant)", lambda: bob.runs.wait(None, assistant_id, input={})),
        ("runs.create_batch (her assistant)", lambda: bob.runs.create_batch([batch_of_one])),
        # crons
        ("crons.get", lambda: raising(http.get(f"/runs/crons/{cron['cron_id']}"))),
        ("crons.get stateless", lambda: raising(http.get(f"/runs/crons/{stateless_cron['cron_id']}"))),
        ("crons.update", lambda: bob.crons.update(cron["cron_id"], schedule="* * * * *")),
        ("crons.delete", lambda: bob.crons.delete(cron["cron_id"])),
        ("crons.delete stateless", lambda: bob.crons.delete(stateless_cron["cron_id"])),
        ("crons.create_for_thread", lambda: bob.crons.create_for_thread(thread_id, "whoami", schedule=NEVER_SOON)),
        ("crons.create (her assistant)", lambda: bob.crons.create(assistant_id, schedule=NEVER_SOON)),
        # store items
        ("store.get_item", lambda: bob.store.get_item(["user1", "notes"], "n1")),
        ("store.put_item", lambda: bob.store.put_item(["user1", "notes"], "n1", {"text": "bob"})),
        ("store.delete_item", lambda: bob.store.delete_item(["user1", "notes"], "n1")),
        ("store.search_items", lambda: bob.store.search_items(["user1"])),
        ("store.list_namespaces", lambda: bob.store.list_namespaces(prefix=["user1"])),
    ]
    for name, call in operations:
        await sweep.attempt(name, call)
    await http.aclose()

    assert sweep.leaks == []
    assert sweep.attempts == len(operations) == 41

    # Searches, counts and listings hold bob's own, never alice's.
    assert [t["thread_id"] for t in await bob.threads.search()] == [own_thread["thread_id"]]
    assert await bob.threads.count() == 1
    found = {a["assistant_id"] for a in await bob.assistants.search(limit=100)}
    assert assistant_id not in found and own_assistant["assistant_id"] in found
    assert await bob.assistants.count() == len(found) == 2  # his and the system assistant of `whoami`
    bobs_crons = await bob.crons.search(limit=100)
    assert [c["thread_id"] for c in bobs_crons] == [own_thread["thread_id"]]
    assert await bob.crons.count() == 1
    items = (await bob.store.search_items([]))["items"]
    assert [(item["namespace"], item["value"]) for item in items] == [(["user2", "notes"], {"text": "bob-note"})]
    assert (await bob.store.list_namespaces())["namespaces"] == [["user2", "notes"]]
    # A bulk operation answers without touching hers.
    assert await bob.threads.prune([thread_id]) == {"pruned_count": 0}

    # Nothing bob tried changed alice's resources.
    metadata = (await alice.threads.get(thread_id))["metadata"] or {}
    assert (metadata["topic"], metadata["owner"]) == ("alice-topic", "user1")
    assert [r["run_id"] for r in await alice.runs.list(thread_id)] == [run_id]
    assert (await alice.assistants.get(assistant_id))["metadata"] == {"note": "alice-assistant", "owner": "user1"}
    assert {c["cron_id"] for c in await alice.crons.search()} == {cron["cron_id"], stateless_cron["cron_id"]}
    assert (await alice.crons.search())[0]["schedule"] == NEVER_SOON
    item = await alice.store.get_item(["user1", "notes"], "n1")
    assert item is not None and item["value"] == {"text": "alice-note"}
    assert (await alice.store.list_namespaces())["namespaces"] == [["user1"], ["user1", "notes"]]
