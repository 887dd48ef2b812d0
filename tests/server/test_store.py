"""The store as `langgraph.json` configures it (`store.ttl`, `store.index`), on a real keel on loopback: what
the SDK cannot see (an item's expiry) is read from the store's table."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client

from server.settings import ModelSettings, SettingsError
from server.store_config import store_config
from tests.process import KEEL, REPO
from tests.server.conftest import KeelServer


def config_with(folder: Path, store: dict[str, Any]) -> Path:
    path = folder / "langgraph.json"
    path.write_text(json.dumps({"graphs": {}, "store": store}))
    return path


async def ttl_minutes(database_url: str, namespace: str, key: str) -> Any:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT ttl_minutes, expires_at > now() AS live FROM store WHERE prefix = %s AND key = %s", (namespace, key)
        )
        return await cur.fetchone()


@pytest.mark.slow
async def test_items_get_the_configured_default_ttl_unless_the_put_names_one(
    keel_server: Callable[..., KeelServer], tmp_path: Path, database_url: str
) -> None:
    server = keel_server(config_with(tmp_path, {"ttl": {"default_ttl": 30}}))
    async with get_client(url=server.url) as client:
        await client.store.put_item(["ttl"], key="default", value={"a": 1})
        await client.store.put_item(["ttl"], key="own", value={"a": 1}, ttl=5)
    assert await ttl_minutes(database_url, "ttl", "default") == (30.0, True)
    assert await ttl_minutes(database_url, "ttl", "own") == (5.0, True)


@pytest.mark.slow
async def test_without_ttl_items_never_expire(
    keel_server: Callable[..., KeelServer], tmp_path: Path, database_url: str
) -> None:
    server = keel_server(config_with(tmp_path, {}))
    async with get_client(url=server.url) as client:
        await client.store.put_item(["ttl"], key="forever", value={"a": 1})
        found = await client.store.search_items(["ttl"], query="anything")  # no index: listed, without a score
    assert await ttl_minutes(database_url, "ttl", "forever") == (None, None)
    assert [(item["key"], item.get("score")) for item in found["items"]] == [("forever", None)]


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ({"path": "./my_store.py:store"}, "a custom store is not supported"),
        ({"index": {"dims": 0, "embed": "openai:text-embedding-3-small"}}, "index.dims"),
        ({"index": {"dims": 8, "embed": "cohere:embed-english-v3.0"}}, "OpenAI-compatible models only"),
        ({"ttl": {"default_ttl": -1}}, "ttl.default_ttl"),
        ({"indexes": {}}, "indexes"),
    ],
)
def test_a_bad_store_section_is_one_line_naming_it(tmp_path: Path, store: dict[str, Any], says: str) -> None:
    with pytest.raises(SettingsError, match=says) as caught:
        store_config(config_with(tmp_path, store), ModelSettings())
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_keel_serve_with_a_custom_store_exits_with_one_line(tmp_path: Path) -> None:
    config = config_with(tmp_path, {"path": "./my_store.py:store"})
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*KEEL, "serve", "--config", str(config)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1:] == [
        f"keel: store.path in {config}: a custom store is not supported by keel; remove it to use keel's "
        "PostgreSQL store (index and ttl are supported)"
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".keel").exists(), "the store section is checked before any database is started"
