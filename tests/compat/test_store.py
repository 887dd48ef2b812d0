"""Issue 13 §6 (the store) and §7 (request headers in a run's config), through the official Python SDK.

Expected behaviour is LangGraph Server's: `client.store.*` reads and writes the same store graphs get as
`runtime.store`; items come back as `{namespace, key, value, created_at, updated_at}` (a search's with `score`);
a missing item is `null`; namespace labels are non-empty and have no period (422); `GET /store/items` without a
key is a 400; with `store.index` configured a search's `query` ranks by similarity. Headers reach
`config["configurable"]` as `http.configurable_headers` says: only included ones, never excluded ones, never
`x-api-key` / `authorization`, over the body's own configurable values."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.process import KeelProcess

pytestmark = pytest.mark.slow


def labels() -> list[str]:
    return ["compat", uuid.uuid4().hex]


async def test_put_get_and_delete_an_item(client: LangGraphClient) -> None:
    namespace = labels()
    await client.store.put_item(namespace, key="contact", value={"channel": "email"})

    item = await client.store.get_item(namespace, key="contact")
    assert item is not None
    assert set(item) == {"namespace", "key", "value", "created_at", "updated_at"}
    assert (item["namespace"], item["key"], item["value"]) == (namespace, "contact", {"channel": "email"})
    assert datetime.fromisoformat(str(item["updated_at"])) >= datetime.fromisoformat(str(item["created_at"]))

    await client.store.put_item(namespace, key="contact", value={"channel": "phone"})
    updated = await client.store.get_item(namespace, key="contact")
    assert updated is not None and updated["value"] == {"channel": "phone"}

    await client.store.delete_item(namespace, key="contact")
    assert await client.store.get_item(namespace, key="contact") is None


async def test_search_lists_newest_first_filters_and_pages(client: LangGraphClient) -> None:
    namespace = labels()
    for n in range(3):
        await client.store.put_item(
            [*namespace, "notes"], key=f"k{n}", value={"n": n, "kind": "odd" if n % 2 else "even"}
        )

    listed = await client.store.search_items(namespace)
    assert [item["key"] for item in listed["items"]] == ["k2", "k1", "k0"]
    assert all(item["namespace"] == [*namespace, "notes"] for item in listed["items"])

    even = await client.store.search_items(namespace, filter={"kind": "even"})
    assert sorted(item["key"] for item in even["items"]) == ["k0", "k2"]
    above = await client.store.search_items(namespace, filter={"n": {"$gt": 0}})
    assert sorted(item["key"] for item in above["items"]) == ["k1", "k2"]

    page = await client.store.search_items(namespace, limit=1, offset=1)
    assert [item["key"] for item in page["items"]] == ["k1"]


async def test_a_query_ranks_items_by_similarity(client: LangGraphClient) -> None:
    namespace = labels()
    await client.store.put_item(namespace, key="a", value={"text": "the customer prefers phone calls in the morning"})
    await client.store.put_item(namespace, key="b", value={"text": "invoices are paid by bank transfer"})
    await client.store.put_item(namespace, key="c", value={"text": "workspace created in the eu region"})

    found = await client.store.search_items(namespace, query="invoices paid by transfer", limit=3)
    keys = [item["key"] for item in found["items"]]
    assert keys[0] == "b", found
    scores = [item.get("score") for item in found["items"]]
    assert all(isinstance(score, float) for score in scores), scores
    assert scores == sorted((float(score or 0) for score in scores), reverse=True)


async def test_list_namespaces_by_prefix_suffix_and_depth(client: LangGraphClient) -> None:
    root = labels()
    for path in (["users", "u1", "prefs"], ["users", "u2", "prefs"], ["teams", "t1"]):
        await client.store.put_item([*root, *path], key="k", value={"x": 1})

    found = await client.store.list_namespaces(prefix=root)
    assert sorted(found["namespaces"]) == sorted(
        [[*root, "teams", "t1"], [*root, "users", "u1", "prefs"], [*root, "users", "u2", "prefs"]]
    )
    shallow = await client.store.list_namespaces(prefix=root, max_depth=4)  # the root is two labels
    assert sorted(shallow["namespaces"]) == [[*root, "teams", "t1"], [*root, "users", "u1"], [*root, "users", "u2"]]
    prefs = await client.store.list_namespaces(prefix=root, suffix=["prefs"])
    assert len(prefs["namespaces"]) == 2


async def test_bad_namespaces_and_a_missing_key_are_refused(compat_server: KeelProcess) -> None:
    async with httpx.AsyncClient(base_url=compat_server.base_url) as http:
        put = await http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
        assert put.status_code == 422, put.text
        empty_label = await http.post("/store/items/search", json={"namespace_prefix": ["a", ""]})
        assert empty_label.status_code == 422, empty_label.text
        no_key = await http.get("/store/items", params={"namespace": "a.b"})
        assert no_key.status_code == 400, no_key.text
        reserved = await http.put("/store/items", json={"namespace": ["langgraph"], "key": "k", "value": {}})
        assert reserved.status_code == 400, reserved.text
        not_an_object = await http.put("/store/items", json={"namespace": ["a"], "key": "k", "value": [1]})
        assert not_an_object.status_code == 422, not_an_object.text
        too_deep = await http.post("/store/namespaces", json={"max_depth": 18625606459})
        assert too_deep.status_code == 422, too_deep.text
        for ttl in (-1e300, 0, 5e-324, 1e300):
            bad_ttl = await http.put("/store/items", json={"namespace": ["a"], "key": "k", "value": {}, "ttl": ttl})
            assert bad_ttl.status_code == 422, bad_ttl.text


async def test_what_a_graph_stores_the_api_reads_and_the_reverse(client: LangGraphClient) -> None:
    user = str(uuid.uuid4())
    await client.runs.wait(None, "memory", input={"user": user, "note": "prefers phone"})
    found = await client.store.search_items(["memories", user])
    assert [item["value"] for item in found["items"]] == [{"note": "prefers phone"}]

    await client.store.put_item(["memories", user], key="from the api", value={"note": "from the api"})
    values = await client.runs.wait(None, "memory", input={"user": user})
    assert values == {"user": user, "remembered": ["from the api", "prefers phone"]}


async def test_included_headers_reach_the_graphs_configurable(compat_server: KeelProcess) -> None:
    headers = {
        "X-User-Id": "u-42",
        "my-prefix-team": "desk",
        "x-other": "not included",
        "authorization": "Bearer secret",
        "x-secret-token": "excluded",
    }
    async with get_client(url=compat_server.base_url, api_key="secret", headers=headers) as client:
        values = await client.runs.wait(None, "headers", input={}, config={"configurable": {"x-user-id": "body"}})
        assert values == {"headers": {"x-user-id": "u-42", "my-prefix-team": "desk"}}

        thread = await client.threads.create()
        run = await client.runs.create(thread["thread_id"], "headers", input={})
        await client.runs.join(thread["thread_id"], run["run_id"])
        state = await client.threads.get_state(thread["thread_id"])
        assert state["values"] == {"headers": {"x-user-id": "u-42", "my-prefix-team": "desk"}}
