"""LangGraph's long-term memory store, as LangGraph Server configures it from `langgraph.json`'s `store` section:
one `AsyncPostgresStore` per process on keel's pool, given to every graph (`runtime.store`, `get_store()`) and
served by the `/store` API.

```json
"store": {
  "index": {"dims": 256, "embed": "openai:text-embedding-3-small", "fields": ["$"]},
  "ttl": {"default_ttl": 10080, "refresh_on_read": true, "sweep_interval_minutes": 60}
}
```

`index` turns on vector search (pgvector's `vector` extension, created by the store's setup); its embeddings come
from `server.models.embeddings`. `ttl` minutes as LangGraph's `TTLConfig`; with `sweep_interval_minutes` each
keel process deletes expired items that often. A custom store (`path`) is not supported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.store.base import TTLConfig
from langgraph.store.postgres import AsyncPostgresStore
from langgraph.store.postgres.base import PostgresIndexConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.config_file import section
from server.db.pool import Pool
from server.models.embeddings import embeddings_for
from server.settings import ModelSettings, SettingsError

_SWEEPER_STOP_S = 5.0


class IndexSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dims: int = Field(gt=0, le=16000)
    embed: str = Field(min_length=1)
    fields: list[str] | None = None


class TTLSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_on_read: bool = True
    default_ttl: float | None = Field(default=None, gt=0)
    sweep_interval_minutes: int | None = Field(default=None, gt=0)


class StoreSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: IndexSection | None = None
    ttl: TTLSection | None = None
    path: str | None = None


class StoreConfig:
    """The `store` section, checked, with the index's embeddings built: what `open_store` needs."""

    def __init__(self, index: PostgresIndexConfig | None, ttl: TTLConfig | None, sweep_minutes: int | None) -> None:
        self.index = index
        self.ttl = ttl
        self.sweep_minutes = sweep_minutes


def store_config(config_path: Path | None, models: ModelSettings) -> StoreConfig:
    """The store as `langgraph.json` configures it; `SettingsError` (one line) when it cannot be."""
    raw = section(config_path, "store")
    try:
        parsed = StoreSection.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid store section in {config_path}: {problems}") from None
    if parsed.path is not None:
        raise SettingsError(
            f"store.path in {config_path}: a custom store is not supported by keel; remove it to use keel's "
            "PostgreSQL store (index and ttl are supported)"
        )
    index: PostgresIndexConfig | None = None
    if parsed.index is not None:
        base = config_path.parent if config_path is not None else None
        embed = embeddings_for(parsed.index.embed, models, dims=parsed.index.dims, base=base)
        index = {"dims": parsed.index.dims, "embed": embed, "fields": parsed.index.fields or ["$"]}
    ttl: TTLConfig | None = None
    if parsed.ttl is not None:
        ttl = {"refresh_on_read": parsed.ttl.refresh_on_read, "default_ttl": parsed.ttl.default_ttl}
        if parsed.ttl.sweep_interval_minutes is not None:
            ttl["sweep_interval_minutes"] = parsed.ttl.sweep_interval_minutes
    sweep = parsed.ttl.sweep_interval_minutes if parsed.ttl is not None else None
    return StoreConfig(index, ttl, sweep)


@asynccontextmanager
async def open_store(pool: Pool, config: StoreConfig) -> AsyncIterator[AsyncPostgresStore]:
    """The process's store on `pool` (its tables are set up with the migrations: `server.db.migrate`), with the
    TTL sweeper running while it is open when the configuration asks for one."""
    store = AsyncPostgresStore(pool, index=config.index, ttl=config.ttl)
    if config.sweep_minutes is None:
        yield store
        return
    await store.start_ttl_sweeper(config.sweep_minutes)
    try:
        yield store
    finally:
        await store.stop_ttl_sweeper(timeout=_SWEEPER_STOP_S)
