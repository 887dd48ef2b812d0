"""One owner per table: every SQL statement on keel.runs and keel.threads is in the queue's store
(server/runs/store/), the "active run" predicate is spelled once, and the run pipeline's shared types are
declared once. Read from the source, like test_layout."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.process import REPO

STORE = REPO / "server" / "runs" / "store"
# A statement that reads or writes the table (a docstring naming it does not count).
SQL_ON_QUEUE_TABLES = re.compile(
    r"\b(FROM|INTO|UPDATE|JOIN|TABLE|USING)\s+keel\.(runs|threads)\b(?!\.)", re.IGNORECASE | re.DOTALL
)
ACTIVE_PREDICATE = re.compile(r"status\s+IN\s*\(\s*'pending'\s*,\s*'running'\s*\)", re.IGNORECASE)
SHARED_TYPES = ("Run", "StartedRun", "RunKwargs", "RunStatus", "ThreadStatus", "CancelAction", "Graph", "Connection")


def strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal in the file (f-string parts included), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    return found


def python_files(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((REPO / package).rglob("*.py"))]


def test_only_the_store_writes_sql_on_keel_runs_and_keel_threads() -> None:
    outside = [
        f"{path.relative_to(REPO)}:{line}"
        for path in python_files("server")
        if STORE not in path.parents
        for line, text in strings(path)
        if SQL_ON_QUEUE_TABLES.search(text)
    ]
    assert outside == [], "SQL on keel.runs / keel.threads outside server/runs/store/"


def test_the_store_is_where_the_check_looks() -> None:
    inside = [text for path in STORE.rglob("*.py") for _, text in strings(path) if SQL_ON_QUEUE_TABLES.search(text)]
    assert len(inside) > 10  # the pattern finds real statements: the test above is not vacuous


def test_the_active_predicate_is_spelled_once() -> None:
    spelled = [
        f"{path.relative_to(REPO)}:{line}"
        for path in python_files("server")
        for line, text in strings(path)
        if ACTIVE_PREDICATE.search(text)
    ]
    assert len(spelled) == 1, spelled


def test_each_shared_type_of_the_run_pipeline_is_declared_once() -> None:
    declared: dict[str, list[str]] = {name: [] for name in SHARED_TYPES}
    for path in python_files("server", "tools"):  # graphs/ may name its own builders `Graph` locally
        if path == REPO / "server" / "routes" / "resources.py":
            continue  # the OpenAPI document's response models (pydantic), named as LangGraph Server names them
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in set(names) & set(SHARED_TYPES):
                declared[name].append(str(path.relative_to(REPO)))
    assert {name: places for name, places in declared.items() if len(places) != 1} == {}


SQL_ON_APPROVALS = re.compile(r"\b(FROM|INTO|UPDATE|JOIN|TABLE|USING)\s+keel\.approvals\b", re.IGNORECASE)


def test_only_the_approvals_store_writes_sql_on_keel_approvals() -> None:
    owner = STORE / "approvals.py"
    found = {
        str(path.relative_to(REPO))
        for path in python_files("server")
        for _, text in strings(path)
        if SQL_ON_APPROVALS.search(text)
    }
    assert found == {str(owner.relative_to(REPO))}
