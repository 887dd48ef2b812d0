"""Running the official JS client (`@langchain/langgraph-sdk`, pinned in js/package.json and js/package-lock.json)
under node: the scripts in js/ each print one JSON object, which the tests check.

The SDK is installed with `npm ci` into js/node_modules (git-ignored) when that is missing or older than the lock
file. node and npm come from the machine image's Debian `nodejs` package (.ci/run installs it when absent); a
machine without them skips the modules that need them, saying so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).with_name("js")

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are not installed (Debian package nodejs); the JS client cannot run",
)


def install_js_sdk() -> Path:
    """js/ with the locked SDK installed (`npm ci` only when the lock file changed since the last install)."""
    installed = JS / "node_modules" / ".package-lock.json"
    lock = JS / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=300)
    return JS


def run_node(js_sdk: Path, script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """`node <script> <args>` in js/; the JSON object it printed last."""
    done = subprocess.run(
        ["node", script, *args], cwd=js_sdk, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
