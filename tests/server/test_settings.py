from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError
from tests.process import KEEL, REPO


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("localhost:5432/keel", "expected a URL starting with postgresql://"),
        ("mysql://u@h/db", "expected a URL starting with postgresql://"),
        ("postgresql://u@h:notaport/db", "not a valid PostgreSQL URL"),
    ],
)
def test_malformed_database_url_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, url: str, reason: str):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert message.startswith("invalid setting DATABASE_URL: ")
    assert reason in message
    assert "\n" not in message


def test_database_url_is_not_echoed_because_it_may_hold_a_password(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://keel:s3cret@h:port/db")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert "s3cret" not in str(caught.value)


def test_other_bad_values_name_their_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEEL_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"^invalid setting KEEL_PORT: .*integer.*'eighty'"):
        Settings()


def test_defaults_without_environment():
    settings = Settings()
    assert settings.database.embedded
    assert settings.database.pgdata == Path(".keel/pgdata")
    assert settings.model.default_name == "offline"
    assert not settings.langfuse.enabled
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)


def test_valid_database_url_turns_embedded_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://keel:pw@db.internal:5432/keel?sslmode=require")
    assert not Settings().database.embedded


@pytest.mark.slow  # runs the keel CLI in child processes
@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"]])
def test_cli_exits_non_zero_with_one_line_and_no_traceback(tmp_path: Path, command: list[str]):
    env = {"DATABASE_URL": "not-a-url", "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*KEEL, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("keel: invalid setting DATABASE_URL: ")
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / ".keel").exists(), "no embedded server may start when the settings are bad"


@pytest.mark.slow  # runs the keel CLI in child processes
def test_unreachable_database_is_one_line(tmp_path: Path):
    env = {"DATABASE_URL": "postgresql://keel@127.0.0.1:1/keel", "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*KEEL, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("keel: cannot connect to the database (DATABASE_URL): ")
    assert len(done.stderr.strip().splitlines()) == 1
