from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server import __version__
from tests.process import KEEL, REPO

pytestmark = pytest.mark.slow  # keel runs as a child process


def test_version(tmp_path: Path):
    done = subprocess.run(
        [*KEEL, "--version"], env={"PYTHONPATH": str(REPO)}, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"keel {__version__}"
    assert __version__ != "0+unknown"


def test_db_upgrade_on_an_external_database(tmp_path: Path, empty_database_url: str):
    env = {"DATABASE_URL": empty_database_url, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([*KEEL, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    again = subprocess.run([*KEEL, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr
    assert first.stdout.startswith("keel db upgrade: 0001_core")
    assert again.stdout == "keel db upgrade: nothing to do\n"
    assert not (tmp_path / ".keel").exists()
