from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from langgraph_sdk import Auth

from server.app_sections import load_auth
from server.auth import api_keys
from server.settings import ApiKeySettings, SettingsError
from tests.server.auth.invoke import authenticate

ALICE_KEY = "keel_alice-key"
BOB_KEY = "keel_bob-key"


def keys_env() -> str:
    return json.dumps(
        {
            api_keys.hash_key(ALICE_KEY): {
                "identity": "alice",
                "permissions": ["threads:write", "approvals:decide"],
                "display_name": "Alice",
            },
            api_keys.hash_key(BOB_KEY).upper(): {"identity": "bob"},
        }
    )


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> Auth:
    monkeypatch.setenv("KEEL_API_KEYS", keys_env())
    return api_keys.build(ApiKeySettings())


async def test_a_key_in_x_api_key_or_as_a_bearer_token_is_its_user(auth: Auth):
    alice = {"identity": "alice", "permissions": ["threads:write", "approvals:decide"], "display_name": "Alice"}
    assert await authenticate(auth, {"x-api-key": ALICE_KEY}) == alice
    assert await authenticate(auth, {"Authorization": f"Bearer {ALICE_KEY}"}) == alice
    assert await authenticate(auth, {"authorization": f"bearer  {BOB_KEY} "}) == {
        "identity": "bob",
        "permissions": [],
        "display_name": "bob",
    }


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key"),
        ({"authorization": f"Basic {ALICE_KEY}"}, "missing API key"),
        ({"authorization": "Bearer "}, "missing API key"),
        ({"x-api-key": "keel_guess"}, "invalid API key"),
        ({"x-api-key": api_keys.hash_key(ALICE_KEY)}, "invalid API key"),  # the digest is not the key
        ({"authorization": "Bearer keel_guess"}, "invalid API key"),
    ],
)
async def test_a_missing_or_unknown_key_is_a_401_naming_nothing_secret(
    auth: Auth, headers: dict[str, str], detail: str
):
    with pytest.raises(Auth.exceptions.HTTPException) as caught:
        await authenticate(auth, headers)
    assert caught.value.status_code == 401
    assert str(caught.value.detail).startswith(detail)
    for secret in (ALICE_KEY, BOB_KEY, "keel_guess", api_keys.hash_key(ALICE_KEY)):
        assert secret not in str(caught.value.detail)


def test_langgraph_json_names_it_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("KEEL_API_KEYS", keys_env())
    api_keys._from_environment.cache_clear()
    try:
        loaded = load_auth({"path": "server.auth.api_keys:auth"}, tmp_path, [tmp_path])
        assert isinstance(loaded, Auth)
        assert loaded._authenticate_handler is not None
    finally:
        api_keys._from_environment.cache_clear()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, r"^invalid setting KEEL_API_KEYS: Field required$"),
        ("{}", r"^invalid setting KEEL_API_KEYS: .*at least 1 item"),
        ("not json", r"^invalid setting KEEL_API_KEYS: expected JSON"),
        (json.dumps({"keel_plain-key": {"identity": "a"}}), r"^invalid setting KEEL_API_KEYS: .*sha256 hex digest"),
        (json.dumps({"a" * 64: {"permissions": []}}), r"^invalid setting KEEL_API_KEYS: at a{64}\.identity: Field"),
        (json.dumps({"a" * 64: {"identity": "a", "role": "x"}}), r"^invalid setting KEEL_API_KEYS: .*role.*Extra"),
    ],
)
def test_a_bad_key_table_is_one_line_at_load_and_never_echoes_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str | None, expected: str
):
    if value is not None:
        monkeypatch.setenv("KEEL_API_KEYS", value)
    api_keys._from_environment.cache_clear()
    with pytest.raises(SettingsError, match=expected) as caught:
        load_auth({"path": "server.auth.api_keys:auth"}, tmp_path, [tmp_path])
    assert "\n" not in str(caught.value)
    assert "plain-key" not in str(caught.value)


def test_importing_the_module_reads_no_environment():
    # keel's tests (and tools) import it freely; only asking for `auth` needs KEEL_API_KEYS.
    assert api_keys.hash_key("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    with pytest.raises(AttributeError):
        _ = api_keys.nothing_here


def test_the_helper_prints_a_new_key_with_its_digest_and_hashes_a_given_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    assert api_keys.main(["new"]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    key, digest = lines["key"].strip(), lines["sha256"].strip()
    assert key.startswith("keel_") and len(key) > 40
    assert digest == api_keys.hash_key(key)

    assert api_keys.main(["hash", key]) == 0
    assert capsys.readouterr().out == digest + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))  # kept out of shell history
    assert api_keys.main(["hash"]) == 0
    assert capsys.readouterr().out == digest + "\n"
    assert api_keys.main(["hush"]) == 2
