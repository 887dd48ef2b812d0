"""The rules of auth on assistants, crons and the store that the two-identity sweep does not show: system
assistants stay everyone's to read but are no one's to change under filters, deleting an assistant with its
threads deletes only the caller's, a cron's runs run as its creator, and a store search's handler filters hold
together with the request's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk.errors import NotFoundError

from server.auth.filters import FilterError
from server.services.store import _with_auth
from tests.server.auth.test_custom_auth import client_for
from tests.server.auth.test_two_identities import NEVER_SOON, serve_two_identities
from tests.server.conftest import KeelServer

EVERY_SECOND = "* * * * * *"  # six fields: the last is seconds


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)  # polling a condition, not timing one


@pytest.mark.slow
async def test_system_assistants_cron_creators_and_deleted_threads(
    tmp_path: Path, keel_server: Callable[..., KeelServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_CRON_POLL", "0.2")
    server = serve_two_identities(tmp_path, keel_server)
    async with client_for(server, "user1-token") as alice, client_for(server, "user2-token") as bob:
        # The system assistant of a graph: readable and searchable by both, by id or graph id, whatever the filters.
        system = await bob.assistants.get("whoami")
        assert (await alice.assistants.get(system["assistant_id"]))["graph_id"] == "whoami"
        assert [a["assistant_id"] for a in await bob.assistants.search(graph_id="whoami")] == [system["assistant_id"]]
        assert (await bob.assistants.get_schemas("whoami"))["graph_id"] == "whoami"
        # ... but no caller under filters may change it.
        with pytest.raises(NotFoundError):
            await bob.assistants.update("whoami", metadata={"hijacked": True})
        with pytest.raises(NotFoundError):
            await bob.assistants.delete(system["assistant_id"])
        assert (await alice.assistants.get("whoami"))["metadata"] == system["metadata"]

        # alice's own assistant runs for her; a thread of bob's naming it is not hers to delete.
        mine = await alice.assistants.create("whoami", name="alice-assistant")
        renamed = await alice.assistants.update(mine["assistant_id"], name="renamed")
        assert (renamed["metadata"] or {})["owner"] == "user1"
        hers = await alice.threads.create()
        result = await alice.runs.wait(hers["thread_id"], mine["assistant_id"], input={})
        assert isinstance(result, dict) and result["caller"] == "user1"
        decoy = await bob.threads.create(metadata={"assistant_id": mine["assistant_id"]})
        await alice.assistants.delete(mine["assistant_id"], delete_threads=True)
        with pytest.raises(NotFoundError):
            await alice.threads.get(hers["thread_id"])
        assert (await bob.threads.get(decoy["thread_id"]))["thread_id"] == decoy["thread_id"]

        # A cron's runs are its creator's: on her thread, and on the thread a stateless cron makes.
        thread = await alice.threads.create()
        cron: Any = await alice.crons.create_for_thread(thread["thread_id"], "whoami", schedule=EVERY_SECOND, input={})
        stateless: Any = await alice.crons.create("whoami", schedule=EVERY_SECOND, input={}, on_run_completed="keep")

        async def fired() -> bool:
            state = await alice.threads.get_state(thread["thread_id"])
            return bool(state["values"]) and len(await alice.threads.search(metadata={"graph_id": "whoami"})) >= 3

        await eventually(fired, "both crons fired")
        await alice.crons.delete(cron["cron_id"])
        await alice.crons.delete(stateless["cron_id"])
        values: Any = (await alice.threads.get_state(thread["thread_id"]))["values"]
        assert (values["caller"], values["display_name"]) == ("user1", "Alice")
        found: list[Any] = await alice.threads.search(limit=100)
        made = [t for t in found if t["thread_id"] != thread["thread_id"] and (t["values"] or {}).get("caller")]
        assert made and all(t["values"]["caller"] == "user1" and t["metadata"]["owner"] == "user1" for t in made)
        assert await bob.threads.count() == 1  # the decoy: none of the cron's threads are his
        assert await bob.crons.count() == 0
        with pytest.raises(NotFoundError):
            await bob.crons.create_for_thread(thread["thread_id"], "whoami", schedule=NEVER_SOON)


def test_a_store_search_holds_the_handlers_filters_and_the_requests() -> None:
    assert _with_auth(None, None) == {}
    assert _with_auth({"kind": "note"}, {"owner": "alice"}) == {"kind": "note", "owner": "alice"}
    assert _with_auth({"owner": {"$ne": "x"}}, {"owner": {"$eq": "alice"}}) == {"owner": {"$ne": "x", "$eq": "alice"}}
    assert _with_auth({"owner": "alice"}, {"owner": "alice"}) == {"owner": "alice"}
    # Contradicting filters match nothing, whatever the store holds.
    assert _with_auth({"owner": "bob"}, {"owner": "alice"}) is None
    assert _with_auth({"owner": {"$eq": "bob"}}, {"owner": "alice"}) is None
    # The store has no $contains, $or or $and: the auth code is wrong, and guessing could leak.
    for wrong in ({"tags": {"$contains": "x"}}, {"$or": [{"a": 1}, {"b": 2}]}):
        with pytest.raises(FilterError):
            _with_auth(None, wrong)
