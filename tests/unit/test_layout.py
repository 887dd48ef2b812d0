"""The package layout, read from the source: keel's top-level packages import each other without a cycle,
the plain LangGraph code (graphs/ nodes/ tools/) never reaches for the server or the environment, and
langgraph.json registers every graph in graphs/."""

from __future__ import annotations

import ast
import json
import tomllib
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from server.graph_loading import KEEL_PACKAGES
from tests.process import REPO

PACKAGES = ("graphs", "nodes", "tools", "server", "evals", "bench")
PLAIN = ("graphs", "nodes", "tools")  # plain LangGraph code: no process lifetime, no settings
SERVING = {"server", "fastapi", "starlette", "sse_starlette", "uvicorn", "langfuse"}


def modules(package: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((REPO / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    """Every absolute module name the file imports, at the top or inside a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def dependencies() -> dict[str, set[str]]:
    """package -> the other keel packages it imports."""
    found: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for package in PACKAGES:
        for _, tree in modules(package):
            found[package] |= {name.split(".")[0] for name in imported(tree)} & set(PACKAGES) - {package}
    return found


def test_top_level_packages_import_each_other_without_a_cycle() -> None:
    graph = dependencies()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle between packages: {' -> '.join(exc.args[1])}")
    assert order.index("tools") < order.index("nodes") < order.index("graphs")
    assert "graphs" not in graph["nodes"] | graph["tools"], "nodes and tools never import a graph builder"


@pytest.mark.parametrize("package", PLAIN)
def test_plain_langgraph_code_never_imports_the_server_or_reads_the_environment(package: str) -> None:
    problems = []
    for path, tree in modules(package):
        where = path.relative_to(REPO)
        problems += [f"{where} imports {name}" for name in imported(tree) if name.split(".")[0] in SERVING]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"environ", "environb", "getenv", "putenv"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and {alias.name for alias in node.names} & {"environ", "environb", "getenv"}
            ):
                problems.append(f"{where}:{node.lineno} reads the environment")
    assert problems == []


def test_langgraph_json_registers_every_graph_in_graphs() -> None:
    registered = set(json.loads((REPO / "langgraph.json").read_text())["graphs"].values())
    builders = {
        f"./graphs/{path.name}:build"
        for path, tree in modules("graphs")
        if any(isinstance(node, ast.FunctionDef) and node.name == "build" for node in tree.body)
    }
    assert builders == registered


def test_the_packages_keel_guards_against_shadowing_are_the_wheels() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) == set(KEEL_PACKAGES)


def test_server_subpackages_import_each_other_without_a_cycle() -> None:
    """server/'s parts form layers: routes over services over the run pipeline (runs/) over observability, the
    database and the records; a module at the top of server/ (errors.py, records.py...) counts as a part."""
    parts: dict[str, set[str]] = {}
    for path, tree in modules("server"):
        relative = path.relative_to(REPO / "server").with_suffix("").parts
        part = relative[0]
        found = {name.split(".")[1] for name in imported(tree) if name.startswith("server.")}
        parts.setdefault(part, set()).update(found - {part})
    try:
        order = list(TopologicalSorter(parts).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle between server's parts: {' -> '.join(exc.args[1])}")
    assert order.index("records") < order.index("runs") < order.index("services") < order.index("routes")
    assert "runs" not in parts["observability"], "the run pipeline reports to observability, not the reverse"
