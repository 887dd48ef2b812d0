"""The README's "Add an agent" recipe, followed literally on a copy of keel's graphs, nodes and tools: the file
it shows is written where it says, its lines replace the ones they name, and a new process (the restart it
asks for) answers the request it gives through the new agent. The copy still passes ruff as `make test` runs it."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.graphs.harness import run_child
from tests.process import REPO

pytestmark = pytest.mark.slow  # the restart is a child process

CODE = re.compile(r"^   ```python\n(.*?)^   ```\n", re.DOTALL | re.MULTILINE)


def recipe() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Add an agent") :]
    return re.split(r"^\d+\. ", section[: section.index("\n## ")], flags=re.MULTILINE)[1:]


def code_of(step: str) -> str:
    match = CODE.search(step)
    assert match, f"no python block in step: {step[:60]!r}"
    return textwrap.dedent(match.group(1))


def file_of(step: str) -> str:
    match = re.search(r"`([\w/]+\.py)`", step)
    assert match, f"no file named in step: {step[:60]!r}"
    return match.group(1)


def bound_names(statement: ast.stmt) -> set[str]:
    """What a top-level statement defines: the module it imports from, or the names it assigns."""
    if isinstance(statement, ast.ImportFrom):
        return {f"from {statement.module}"}
    if isinstance(statement, ast.AnnAssign | ast.Assign):
        targets = [statement.target] if isinstance(statement, ast.AnnAssign) else statement.targets
        return {target.id for target in targets if isinstance(target, ast.Name)}
    return set()


def replace_statements(path: Path, code: str) -> None:
    """Each statement the README shows replaces the file's statement that defines the same thing."""
    for shown in ast.parse(code).body:
        lines = path.read_text().splitlines(keepends=True)
        [old] = [s for s in ast.parse("".join(lines)).body if bound_names(s) == bound_names(shown)]
        assert old.end_lineno is not None and shown.end_lineno is not None
        new = code.splitlines(keepends=True)[shown.lineno - 1 : shown.end_lineno]
        path.write_text("".join(lines[: old.lineno - 1] + new + lines[old.end_lineno :]))


def test_the_readme_recipe_adds_an_agent_the_supervisor_calls(database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "keel"
    for package in ("graphs", "nodes", "tools"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    for file in ("langgraph.json", "pyproject.toml"):
        shutil.copy(REPO / file, root / file)

    create, edit, restart, ask = recipe()
    assert create.startswith("Create ")
    (root / file_of(create)).write_text(code_of(create))
    replace_statements(root / file_of(edit), code_of(edit))
    assert "Restart `keel serve`" in restart

    found = re.search(r'"([^"]+)" reaches `(\w+)`, which answers (\d+)', ask)
    assert found, ask
    request, agent, number = found.groups()
    result = run_child(
        {"url": database_url, "graph": "support", "thread": str(uuid.uuid4()), "action": "ask", "request": request},
        root=root,
    )
    assert result["tool_calls"] == [f"ask_{agent}"]
    assert number in result["answer"]

    edited = [str(root / file_of(create)), str(root / file_of(edit))]
    for check in (["check"], ["format", "--check"]):
        ruff = subprocess.run(
            [Path(sys.executable).with_name("ruff"), *check, *edited], cwd=root, capture_output=True, text=True
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr
