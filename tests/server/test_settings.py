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


def test_direct_database_url_is_checked_and_not_echoed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEEL_DIRECT_DATABASE_URL", "postgresql://keel:s3cret@h:port/db")
    with pytest.raises(SettingsError, match=r"^invalid setting KEEL_DIRECT_DATABASE_URL: not a valid") as caught:
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


# A bad value of every kind of setting: JSON (the parse fails in pydantic-settings, before validation), a
# structure inside the JSON, a number out of range, a choice, a flag; and a `.env` keel cannot read.
BAD_VALUES = [
    ("KEEL_PRICES", "not json", "expected JSON"),
    ("KEEL_PRICES", "{", "expected JSON"),
    ("KEEL_PRICES", "[1]", "valid dictionary"),
    ("KEEL_PRICES", '{"gpt-4o": 5}', "at gpt-4o: "),
    ("KEEL_PRICES", '{"gpt-4o": {"input": -1}}', "at gpt-4o.input: "),
    ("KEEL_PRICES", '{"gpt-4o": {"output": "a\\nb"}}', "at gpt-4o.output: "),
    ("KEEL_PORT", "70000", "less than or equal to 65535"),
    ("KEEL_RUN_TIMEOUT", "-1", "greater than 0"),
    ("KEEL_LOG_FORMAT", "xml", "'json' or 'text'"),
    ("KEEL_LOG_CONTENT", "maybe", "valid boolean"),
]


@pytest.mark.parametrize(("variable", "value", "reason"), BAD_VALUES)
def test_every_bad_value_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert message.startswith(f"invalid setting {variable}: ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.slow
def test_cli_says_one_line_for_every_bad_value(tmp_path: Path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / ".env").write_bytes(b"KEEL_PORT=\xff\n")
    cases = [(tmp_path, {variable: value}, f"invalid setting {variable}: ") for variable, value, _ in BAD_VALUES]
    cases.append((tmp_path / "bad", {}, "invalid settings file .env: "))
    for cwd, bad, start in cases:
        env = {**bad, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        done = subprocess.run([*KEEL, "serve"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        lines = done.stderr.strip().splitlines()
        assert (done.returncode, len(lines)) == (2, 1), (bad, done.stderr)
        assert lines[0].startswith(f"keel: {start}"), (bad, lines[0])
        assert not done.stdout
    assert not (tmp_path / ".keel").exists(), "no embedded server may start when the settings are bad"
