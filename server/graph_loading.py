"""Graph loading: `langgraph.json` → a registry of compiled graphs that use keel's checkpointer.

The file is the one the LangGraph CLI reads: `{"graphs": {"<graph id>": "./path/to/file.py:attr"}}`
(an entry may also be `{"path": "...", "description": "..."}`, and `my_pkg.module:attr` names an
importable module). Paths are relative to the file's folder, which is appended to `sys.path` so a
graph file can import the user's own modules (installed ones win a name clash). keel's own top-level
packages (`KEEL_PACKAGES`) would silently win over a user's module of the same name there, so
`load_graphs()` refuses to start on one instead, naming the file. `attr` is a compiled graph, a
`StateGraph` builder, or a factory function (no arguments, or one `config` argument) returning
either; factories are called once, at start-up. Async factories are not supported.

`load_graphs()` imports and compiles everything up front, so a broken entry stops `keel serve`
before it touches the database, with a one-line `GraphLoadError` naming the entry.
`LoadedGraphs.with_checkpointer(saver, store)` then gives keel's copies: whatever checkpointer (and store) the
user compiled in is replaced by keel's Postgres saver (and store), and the user's objects are never modified.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from server.errors import NotFound

log = logging.getLogger(__name__)

Graph = Pregel[Any, Any, Any, Any]

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
    graph: Graph


class LoadedGraphs(Mapping[str, Graph]):
    """graph id → compiled graph, in `langgraph.json` order. `entry(id)` has the spec and description."""

    def __init__(self, entries: list[GraphEntry], config_path: Path | None) -> None:
        self._entries = {entry.graph_id: entry for entry in entries}
        self.config_path = config_path

    def __getitem__(self, graph_id: str) -> Graph:
        return self._entries[graph_id].graph

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, graph_id: str) -> GraphEntry:
        """The entry, or `NotFound` (an HTTP 404) naming the graphs that are loaded."""
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
            entries.append(GraphEntry(entry.graph_id, entry.spec, entry.description, graph))
        return LoadedGraphs(entries, self.config_path)


def load_graphs(config_path: Path, *, required: bool = True) -> LoadedGraphs:
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
    _refuse_shadowed_modules(base)
    if str(base) not in sys.path:
        sys.path.append(str(base))  # last: a user's `tools.py` must not shadow keel's own packages
    entries = [_load_entry(graph_id, value, base) for graph_id, value in raw.items()]
    log.info("loaded %d graph(s) from %s: %s", len(entries), path, ", ".join(raw) or "none")
    return LoadedGraphs(entries, path)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphLoadError(f"cannot read graph registry {path}: {exc}") from None
    graphs = data.get("graphs", {}) if isinstance(data, dict) else None
    if not isinstance(graphs, dict):
        raise GraphLoadError(f'graph registry {path}: expected an object with a "graphs" object')
    return graphs


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


def _load_entry(graph_id: str, value: Any, base: Path) -> GraphEntry:
    spec, description = (value.get("path"), value.get("description")) if isinstance(value, dict) else (value, None)
    where = f"graph {graph_id!r} ({spec})"
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise GraphLoadError(f'graph {graph_id!r}: expected "path/to/file.py:attribute", got {spec!r}')
    module_part, attr = spec.split(":")
    module = _import(module_part, base, where)
    obj = _attribute(module, attr, where)
    graph = _to_graph(obj, where)
    return GraphEntry(graph_id, spec, description if isinstance(description, str) else None, graph)


def _import(module_part: str, base: Path, where: str) -> ModuleType:
    if not module_part.endswith(".py") and "/" not in module_part:
        return _run_import(lambda: importlib.import_module(module_part), where)
    path = (base / module_part).resolve()
    if not path.is_file():
        raise GraphLoadError(f"{where}: file not found: {path}")
    dotted = _package_name(path, base)
    if dotted is not None:
        module = _run_import(lambda: importlib.import_module(dotted), where)
        if module.__file__ is None or Path(module.__file__).resolve() != path:
            raise GraphLoadError(f"{where}: {dotted} is already imported from {module.__file__}; rename the package")
        return module
    name = "keel_graph_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    return _run_import(lambda: _exec_file(name, path), where)


def _package_name(path: Path, base: Path) -> str | None:
    """`pkg.sub.file` when every folder between `base` and the file is a package, so the file's
    relative imports work; None for a plain file."""
    parts = path.relative_to(base).with_suffix("").parts if path.is_relative_to(base) else ()
    if len(parts) < 2:
        return None
    folders = [base.joinpath(*parts[:i]) for i in range(1, len(parts))]
    if not all((folder / "__init__.py").is_file() for folder in folders):
        return None
    return ".".join(parts)


def _exec_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # type hints and pickled types resolve the module by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _run_import(load: Callable[[], ModuleType], where: str) -> ModuleType:
    try:
        return load()
    except Exception as exc:  # user code: anything can go wrong; report it on one line
        raise GraphLoadError(f"{where}: import failed: {_one_line(exc)}") from None


def _attribute(module: ModuleType, attr: str, where: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise GraphLoadError(f"{where}: {module.__name__} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _to_graph(obj: Any, where: str, *, from_factory: bool = False) -> Graph:
    if isinstance(obj, Pregel):
        return obj
    if isinstance(obj, StateGraph):
        try:
            return obj.compile()
        except Exception as exc:  # the builder is invalid (unknown node in an edge, ...)
            raise GraphLoadError(f"{where}: the StateGraph does not compile: {_one_line(exc)}") from None
    if not from_factory and (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return _to_graph(_call_factory(obj, where), where, from_factory=True)
    expected = "a compiled graph or a StateGraph" if from_factory else "a compiled graph, a StateGraph or a factory"
    got = "the factory returned" if from_factory else "is"
    raise GraphLoadError(f"{where}: {got} a {type(obj).__name__}, expected {expected}")


def _call_factory(factory: Callable[..., Any], where: str) -> Any:
    if inspect.iscoroutinefunction(factory):
        raise GraphLoadError(f"{where}: async factories are not supported; return the graph from a plain function")
    parameters = [p for p in inspect.signature(factory).parameters.values() if p.default is inspect.Parameter.empty]
    if len(parameters) > 1:
        raise GraphLoadError(f"{where}: a factory takes no arguments or one `config` argument")
    args: list[Any] = [{"configurable": {}}] if parameters else []
    try:
        return factory(*args)
    except Exception as exc:  # user code
        raise GraphLoadError(f"{where}: the factory raised {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
