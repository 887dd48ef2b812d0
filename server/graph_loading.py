"""Graph loading: `langgraph.json` → a registry of graphs that use keel's checkpointer, plus its other sections.

The file is the one the LangGraph CLI reads: `{"graphs": {"<graph id>": "./path/to/file.py:attr"}}` (an entry
may also be `{"path": "...", "description": "..."}`, and `my_pkg.module:attr` names an importable module). Paths
are relative to the file's folder, which is appended to `sys.path` with the `dependencies` folders so a graph
file can import the user's own modules (installed ones win a name clash). keel's own top-level packages
(`KEEL_PACKAGES`) would silently win over a user's module of the same name there, so `load_graphs()` refuses to
start on one instead, naming the file. `attr` is a compiled graph, a `StateGraph` or a factory
(`server.graph_factories`: called once at start-up, or per run when it takes a config or a `ServerRuntime`, or
is async). `env`, `dependencies`, `http`, `auth` and `store` are read by `server.app_sections`.

`load_graphs()` imports and compiles everything up front, before keel touches the database. A broken entry is
logged with its reason and left out, and the others serve; with `strict` (`keel serve --strict`), or when no
entry loads, it stops start-up with a one-line `GraphLoadError` naming the entry. A broken section other than
`graphs` always stops start-up. `LoadedGraphs.with_checkpointer(saver, store)` then gives keel's copies: whatever
checkpointer (and store) the user compiled in is replaced by keel's Postgres saver (and store), and the user's
objects are never modified.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from starlette.applications import Starlette

from server import app_sections
from server.errors import NotFound
from server.graph_factories import Graph as Graph  # re-exported: where the rest of keel imports it from
from server.graph_factories import GraphFactory, resolve
from server.user_code import UserCodeError, load_attribute

log = logging.getLogger(__name__)

# The top-level packages keel's wheel installs (pyproject.toml). They come before the registry's folder on
# sys.path, so a user's `tools.py` beside langgraph.json would be shadowed by keel's `tools`.
KEEL_PACKAGES = ("graphs", "nodes", "tools", "server", "evals")


class GraphLoadError(Exception):
    """`langgraph.json` or one of its entries cannot be loaded. `str()` is the line to show."""


@dataclass(frozen=True)
class GraphEntry:
    graph_id: str
    spec: str  # as written in langgraph.json, e.g. "./agent.py:graph"
    description: str | None
    graph: Graph  # the run's graph, or for a per-run factory the one built at start-up (schemas, state reads)
    factory: GraphFactory | None = None  # called for each run when set


@dataclass(frozen=True)
class AppSections:
    """What langgraph.json holds beside its graphs (see `server.app_sections`)."""

    http: dict[str, Any] = field(default_factory=dict)  # the whole `http` section (`configurable_headers`, ...)
    http_app: Starlette | None = None
    auth: Any = None  # a langgraph_sdk.Auth (server.auth enforces it)
    store: dict[str, Any] | None = None  # the `store` section, checked


class LoadedGraphs(Mapping[str, Graph]):
    """graph id → compiled graph, in `langgraph.json` order. `entry(id)` has the spec and description;
    `broken` the entries that failed to load, with why."""

    def __init__(
        self,
        entries: list[GraphEntry],
        config_path: Path | None,
        *,
        broken: Mapping[str, str] | None = None,
        sections: AppSections | None = None,
    ) -> None:
        self._entries = {entry.graph_id: entry for entry in entries}
        self.config_path = config_path
        self.broken = dict(broken or {})
        self.sections = sections or AppSections()

    def __getitem__(self, graph_id: str) -> Graph:
        return self._entries[graph_id].graph

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, graph_id: str) -> GraphEntry:
        """The entry, or `NotFound` (an HTTP 404) naming the graphs that are loaded."""
        if graph_id in self.broken:
            raise NotFound(f"graph {graph_id!r} failed to load: {self.broken[graph_id]}")
        if graph_id not in self._entries:
            known = ", ".join(self._entries) or "none"
            raise NotFound(f"graph {graph_id!r} is not in langgraph.json (loaded graphs: {known})")
        return self._entries[graph_id]

    def with_checkpointer(self, saver: BaseCheckpointSaver[Any], store: BaseStore | None = None) -> LoadedGraphs:
        """Copies of every graph that checkpoint to `saver`, whatever the user compiled in, and (as on LangGraph
        Server) get `store` as `runtime.store` / `get_store()`, replacing any store compiled in.

        A shallow copy, not `Pregel.copy()`: in langgraph 1.2 `copy()` re-runs `__init__` and drops
        the serde allowlist and the v2 output mappers that `compile()` set.
        """
        entries = []
        for entry in self._entries.values():
            graph = copy.copy(entry.graph)
            graph.checkpointer = saver
            if store is not None:
                graph.store = store
            entries.append(replace(entry, graph=graph))
        return LoadedGraphs(entries, self.config_path, broken=self.broken, sections=self.sections)

    def is_per_run(self, graph_id: str) -> bool:
        entry = self._entries.get(graph_id)
        return entry is not None and entry.factory is not None

    @asynccontextmanager
    async def open_for_run(self, graph_id: str, config: dict[str, Any], context: Any) -> AsyncIterator[Graph]:
        """A per-run factory's graph for one run, with the checkpointer and store of the start-up graph."""
        entry = self._entries[graph_id]
        assert entry.factory is not None, "only for per-run entries (is_per_run)"
        async with entry.factory.open(cast(RunnableConfig, config), store=entry.graph.store, context=context) as built:
            graph = copy.copy(built)  # the factory may return the same object each time: never modify it
            graph.checkpointer = entry.graph.checkpointer
            if entry.graph.store is not None:
                graph.store = entry.graph.store
            yield graph


def load_graphs(config_path: Path, *, required: bool = True, strict: bool = False) -> LoadedGraphs:
    """Load every graph named in `config_path`. A missing file is an error only when `required`
    (the operator named it); keel then starts with no graphs."""
    path = config_path.resolve()
    if not path.is_file():
        if required:
            raise GraphLoadError(f"graph registry {config_path} (KEEL_CONFIG / --config) not found")
        log.warning("no %s here: starting with no graphs", config_path)
        return LoadedGraphs([], None)
    raw = _read_config(path)
    base = path.parent
    try:
        app_sections.apply_env(raw.get("env"), base)
        roots = [base, *app_sections.dependency_roots(raw.get("dependencies"), base)]
        for root in roots:
            _refuse_shadowed_modules(root)
            if str(root) not in sys.path:
                sys.path.append(str(root))  # last: a user's `tools.py` must not shadow keel's own packages
        entries, broken = _load_entries(raw["graphs"], base, roots, strict=strict)
        sections = AppSections(
            http=raw.get("http") or {},
            http_app=app_sections.load_http_app(raw.get("http"), base, roots),
            auth=app_sections.load_auth(raw.get("auth"), base, roots),
            store=app_sections.check_store(raw.get("store")),
        )
    except UserCodeError as exc:
        raise GraphLoadError(str(exc)) from None
    if sections.auth is not None:
        log.info("langgraph.json auth: every request is authenticated with %s", raw["auth"]["path"])
    names = ", ".join(entry.graph_id for entry in entries) or "none"
    log.info("loaded %d graph(s) from %s: %s", len(entries), path, names)
    return LoadedGraphs(entries, path, broken=broken, sections=sections)


def _load_entries(
    graphs: dict[str, Any], base: Path, roots: list[Path], *, strict: bool
) -> tuple[list[GraphEntry], dict[str, str]]:
    entries: list[GraphEntry] = []
    broken: dict[str, str] = {}
    for graph_id, value in graphs.items():
        try:
            entries.append(_load_entry(graph_id, value, base, roots))
        except UserCodeError as exc:
            if strict:
                raise
            broken[graph_id] = str(exc)
            log.error("%s (left out; the other graphs serve, `keel serve --strict` would stop instead)", exc)
    if broken and not entries:
        raise UserCodeError(next(iter(broken.values())))
    return entries, broken


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphLoadError(f"cannot read graph registry {path}: {exc}") from None
    graphs = data.get("graphs", {}) if isinstance(data, dict) else None
    if not isinstance(graphs, dict):
        raise GraphLoadError(f'graph registry {path}: expected an object with a "graphs" object')
    return {**data, "graphs": graphs}


def _refuse_shadowed_modules(base: Path) -> None:
    """A user module beside langgraph.json named like one of keel's packages is an error, not a surprise
    later (`from tools import my_tool` would read keel's `tools`). keel's own checkout is not a user's."""
    for name in KEEL_PACKAGES:
        for candidate in (base / f"{name}.py", base / name):
            if not _is_module(candidate):
                continue
            keel = importlib.util.find_spec(name)
            locations = keel.submodule_search_locations if keel is not None else None
            if locations and candidate.resolve() in {Path(location).resolve() for location in locations}:
                continue
            raise GraphLoadError(
                f"{candidate} is shadowed by keel's own `{name}` package: rename it, or move your modules into "
                f"a package of your own (my_agent/{name}.py, imported as my_agent.{name})"
            )


def _is_module(path: Path) -> bool:
    return path.is_file() if path.suffix == ".py" else path.is_dir() and any(path.glob("*.py"))


def _load_entry(graph_id: str, value: Any, base: Path, roots: list[Path]) -> GraphEntry:
    spec, description = (value.get("path"), value.get("description")) if isinstance(value, dict) else (value, None)
    where = f"graph {graph_id!r} ({spec})"
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise UserCodeError(f'graph {graph_id!r}: expected "path/to/file.py:attribute", got {spec!r}')
    graph, factory = resolve(load_attribute(spec, base, roots, where), where)
    return GraphEntry(graph_id, spec, description if isinstance(description, str) else None, graph, factory)
