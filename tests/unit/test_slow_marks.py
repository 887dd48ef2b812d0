"""`make test-fast` (`pytest -m "not slow"`) must start no process: every test that spawns one is marked slow,
by its module's `pytestmark` or its own mark."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.process import REPO

# Names whose use starts a process: keel (tests/process.py, cluster.py), a graph child, a PostgreSQL server,
# a command in a pseudo-terminal (tests/terminal.py).
SPAWNING_NAMES = {
    "subprocess",
    "KeelProcess",
    "KEEL",
    "Cluster",
    "run_child",
    "start_child",
    "embedded_server",
    "Terminal",
}
# Fixtures that start keel processes, directly or through another fixture.
PROCESS_FIXTURES = {"served", "keel_server", "cluster", "traced_cluster", "untraced_cluster"}


def _is_slow_mark(node: ast.expr) -> bool:
    return ast.unparse(node).replace(" ", "") in ("pytest.mark.slow", "[pytest.mark.slow]")


def _module_is_slow(tree: ast.Module) -> bool:
    return any(
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets)
        and (
            _is_slow_mark(stmt.value)
            or (isinstance(stmt.value, ast.List) and any(_is_slow_mark(e) for e in stmt.value.elts))
        )
        for stmt in tree.body
    )


def _uses(function: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> set[str]:
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    used |= {n.value.id for n in ast.walk(function) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    used |= {a.arg for a in function.args.args}
    return used & names


def unmarked_spawners(path: Path) -> Iterator[str]:
    """Functions of a test module that start processes outside a slow mark."""
    tree = ast.parse(path.read_text())
    if _module_is_slow(tree):
        return
    for stmt in tree.body:
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        spawns = _uses(stmt, SPAWNING_NAMES | PROCESS_FIXTURES)
        if not spawns:
            continue
        if not stmt.name.startswith("test_"):
            yield f"{stmt.name} (a helper or fixture: mark the module) uses {sorted(spawns)}"
        elif not any(_is_slow_mark(d) for d in stmt.decorator_list):
            yield f"{stmt.name} uses {sorted(spawns)}"


@pytest.mark.parametrize(
    "module", sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py")), ids=str
)
def test_a_module_that_starts_processes_is_marked_slow(module: str) -> None:
    assert list(unmarked_spawners(REPO / module)) == [], f"{module}: add `pytestmark = pytest.mark.slow`"


def test_no_collected_test_outside_the_slow_mark_uses_a_process_fixture(request: pytest.FixtureRequest) -> None:
    """Checks what this session collected, through fixtures of fixtures too: in `make test-fast` that is every
    test that will run."""
    unmarked = [
        item.nodeid
        for item in request.session.items
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None
    ]
    assert unmarked == []


def test_the_check_finds_an_unmarked_spawner(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("import subprocess\n\ndef test_x():\n    subprocess.run(['true'])\n")
    assert list(unmarked_spawners(module)) == ["test_x uses ['subprocess']"]
    module.write_text("import pytest\n\npytestmark = pytest.mark.slow\n\n" + module.read_text())
    assert list(unmarked_spawners(module)) == []
