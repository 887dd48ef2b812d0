"""Assistant versions as LangGraph Server keeps them, through the official Python SDK: version 1 on create, a
new version (made current) on every PATCH, `get_versions` newest first with a metadata filter and paging, and
`set_latest` copying a stored version back onto the assistant, which runs then use."""

from __future__ import annotations

import uuid

import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

pytestmark = pytest.mark.slow

VERSION_FIELDS = {
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "created_at",
    "metadata",
    "version",
    "name",
    "description",
}


async def test_create_stores_version_1(client: LangGraphClient) -> None:
    made = await client.assistants.create("echo", context={"user_name": "ana"}, metadata={"team": "red"}, name="A")
    assert made["version"] == 1
    [stored] = await client.assistants.get_versions(made["assistant_id"])
    assert set(stored) == VERSION_FIELDS  # the SDK's AssistantVersion: no updated_at
    assert {k: stored[k] for k in ("version", "graph_id", "context", "metadata", "name", "description")} == {
        "version": 1,
        "graph_id": "echo",
        "context": {"user_name": "ana"},
        "metadata": {"team": "red"},
        "name": "A",
        "description": None,
    }


async def test_every_patch_is_a_new_current_version(client: LangGraphClient) -> None:
    made = await client.assistants.create("echo", context={"user_name": "ana"}, metadata={"team": "red"})
    aid = made["assistant_id"]
    second = await client.assistants.update(aid, context={"user_name": "bo"}, metadata={"stage": "beta"})
    third = await client.assistants.update(aid, name="Third")
    assert (second["version"], third["version"]) == (2, 3)
    assert (await client.assistants.get(aid))["version"] == 3

    found = await client.assistants.get_versions(aid)
    assert [v["version"] for v in found] == [3, 2, 1]  # newest first
    assert [v["context"] for v in found] == [{"user_name": "bo"}, {"user_name": "bo"}, {"user_name": "ana"}]
    assert found[1]["metadata"] == {"team": "red", "stage": "beta"}  # a PATCH's metadata merges
    assert found[0]["name"] == "Third"

    assert [v["version"] for v in await client.assistants.get_versions(aid, limit=1, offset=1)] == [2]
    beta = await client.assistants.get_versions(aid, metadata={"stage": "beta"})
    assert [v["version"] for v in beta] == [3, 2]


async def test_set_latest_makes_a_stored_version_current(client: LangGraphClient) -> None:
    made = await client.assistants.create("echo", context={"user_name": "ana"}, metadata={"team": "red"})
    aid = made["assistant_id"]
    await client.assistants.update(aid, context={"user_name": "bo"}, metadata={"stage": "beta"})

    back = await client.assistants.set_latest(aid, 1)
    assert (back["version"], back["context"], back["metadata"]) == (1, {"user_name": "ana"}, {"team": "red"})
    assert await client.assistants.get(aid) == back
    values = await client.runs.wait(None, aid, input={})
    assert isinstance(values, dict)
    assert values["context"]["user_name"] == "ana"  # runs use the current version

    # the next PATCH numbers after the highest stored version, building on the current one
    patched = await client.assistants.update(aid, metadata={"stage": "gamma"})
    assert (patched["version"], patched["context"]) == (3, {"user_name": "ana"})
    assert patched["metadata"] == {"team": "red", "stage": "gamma"}
    assert [v["version"] for v in await client.assistants.get_versions(aid)] == [3, 2, 1]


async def test_unknown_versions_and_assistants_are_404(client: LangGraphClient) -> None:
    made = await client.assistants.create("echo")
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(made["assistant_id"], 7)
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(str(uuid.uuid4()))
    with pytest.raises(NotFoundError):  # as on LangGraph Server: no matching version answers 404
        await client.assistants.get_versions(made["assistant_id"], metadata={"no": "such"})
    await client.assistants.delete(made["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(made["assistant_id"])


async def test_a_graphs_system_assistant_has_versions_too(client: LangGraphClient) -> None:
    system = await client.assistants.get("slow")
    [first] = await client.assistants.get_versions(system["assistant_id"])
    assert (first["version"], first["metadata"], first["graph_id"]) == (1, {"created_by": "system"}, "slow")
    try:
        patched = await client.assistants.update(system["assistant_id"], metadata={"owner": "ops"})
        assert patched["version"] == 2
        assert [v["version"] for v in await client.assistants.get_versions(system["assistant_id"])] == [2, 1]
    finally:
        restored = await client.assistants.set_latest(system["assistant_id"], 1)
    assert restored["metadata"] == {"created_by": "system"}
