"""Importing the user's code that `langgraph.json` names: `"./path/to/file.py:attr"` (relative to the file's
folder) or `"my_pkg.module:attr"`, with every failure as a `UserCodeError` of one line naming the entry.

A file inside packages under one of the import roots (the registry's folder, its `dependencies`) is imported
as `pkg.sub.file`, so its relative imports work; any other file as a module of its own.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any


class UserCodeError(Exception):
    """A `path:attr` spec that cannot be loaded. `str()` is the line to show."""


def load_attribute(spec: Any, base: Path, roots: Sequence[Path], where: str) -> Any:
    """The object `spec` names; `where` starts every error line (e.g. `graph 'agent' (./agent.py:graph)`)."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise UserCodeError(f'{where}: expected "path/to/file.py:attribute", got {spec!r}')
    module_part, attr = spec.split(":")
    return _attribute(_import(module_part, base, roots, where), attr, where)


def _import(module_part: str, base: Path, roots: Sequence[Path], where: str) -> ModuleType:
    if not module_part.endswith(".py") and "/" not in module_part:
        return _run_import(lambda: importlib.import_module(module_part), where)
    path = (base / module_part).resolve()
    if not path.is_file():
        raise UserCodeError(f"{where}: file not found: {path}")
    dotted = next((name for root in roots if (name := _package_name(path, root)) is not None), None)
    if dotted is not None:
        module = _run_import(lambda: importlib.import_module(dotted), where)
        if module.__file__ is None or Path(module.__file__).resolve() != path:
            raise UserCodeError(f"{where}: {dotted} is already imported from {module.__file__}; rename the package")
        return module
    name = "keel_graph_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    return _run_import(lambda: _exec_file(name, path), where)


def _package_name(path: Path, root: Path) -> str | None:
    """`pkg.sub.file` when every folder between `root` and the file is a package, so the file's
    relative imports work; None for a plain file."""
    root = root.resolve()
    parts = path.relative_to(root).with_suffix("").parts if path.is_relative_to(root) else ()
    if len(parts) < 2:
        return None
    folders = [root.joinpath(*parts[:i]) for i in range(1, len(parts))]
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
        raise UserCodeError(f"{where}: import failed: {one_line(exc)}") from None


def _attribute(module: ModuleType, attr: str, where: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserCodeError(f"{where}: {module.__name__} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
