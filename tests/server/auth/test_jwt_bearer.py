"""The JWT authenticator against a JWKS served on loopback and keys made here: never the network."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from langgraph_sdk import Auth
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.app_sections import load_auth
from server.auth import jwt_bearer
from server.settings import JwtSettings, SettingsError
from tests.loopback import serve_in_thread
from tests.server.auth.invoke import authenticate

ISSUER = "https://idp.example.test/"
AUDIENCE = "keel-api"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # published nowhere


def pem(key: Any) -> str:
    return str(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


@dataclass
class Jwks:
    url: str
    fetches: list[str] = field(default_factory=list)


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    """The identity provider's key set, counting how often it is fetched."""
    keys = {"keys": [public_jwk(RSA_KEY, "rsa-1"), public_jwk(EC_KEY, "ec-1")]}
    fetches: list[str] = []

    async def key_set(request: Request) -> JSONResponse:
        fetches.append(request.url.path)
        return JSONResponse(keys)

    app = Starlette(routes=[Route("/.well-known/jwks.json", key_set)])
    with serve_in_thread(app, name="jwks") as port:
        yield Jwks(f"http://127.0.0.1:{port}/.well-known/jwks.json", fetches)


def token(key: Any = RSA_KEY, kid: str | None = "rsa-1", algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300, **claims}
    body = {name: value for name, value in body.items() if value is not None}  # None: leave the claim out
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> JwtSettings:
    values = {"KEEL_JWT_AUDIENCE": AUDIENCE, "KEEL_JWT_ISSUER": ISSUER, **env}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return JwtSettings()


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch, jwks: Jwks) -> Auth:
    return jwt_bearer.build(settings(monkeypatch, KEEL_JWT_JWKS_URL=jwks.url, KEEL_JWT_LEEWAY_S="30"))


async def bearer(auth: Auth, value: str) -> Any:
    return await authenticate(auth, {"Authorization": f"Bearer {value}"})


async def refused(auth: Auth, headers: dict[str, str]) -> Auth.exceptions.HTTPException:
    with pytest.raises(Auth.exceptions.HTTPException) as caught:
        await authenticate(auth, headers)
    return caught.value


async def test_a_valid_token_is_its_subject_with_its_permissions_and_keys_are_fetched_once(auth: Auth, jwks: Jwks):
    before = len(jwks.fetches)
    rsa_token = token(permissions=["threads:write", "approvals:decide"], name="Alice A.")
    assert await bearer(auth, rsa_token) == {
        "identity": "alice",
        "permissions": ["threads:write", "approvals:decide"],
        "display_name": "Alice A.",
    }
    assert await bearer(auth, token(EC_KEY, "ec-1", "ES256", sub="bob")) == {
        "identity": "bob",
        "permissions": [],
        "display_name": "bob",
    }
    assert await bearer(auth, rsa_token) == await bearer(auth, rsa_token)
    assert len(jwks.fetches) - before <= 1, "the key set is cached, not fetched per request"


async def test_a_token_expired_within_the_leeway_still_passes(auth: Auth):
    now = int(time.time())
    assert (await bearer(auth, token(exp=now - 10, iat=now - 300)))["identity"] == "alice"


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (lambda: token(exp=int(time.time()) - 120), "token has expired"),
        (lambda: token(exp=None), "token lacks a required claim"),
        (lambda: token(sub=None), "token lacks a required claim"),
        (lambda: token(sub=""), "token subject is empty"),
        (lambda: token(sub=42), "token is not valid"),
        (lambda: token(aud="someone-else"), "token audience is not accepted"),
        (lambda: token(aud=None), "token lacks a required claim"),
        (lambda: token(iss="https://evil.example.test/"), "token issuer is not accepted"),
        (lambda: token(nbf=int(time.time()) + 600), "token is not valid yet"),
        (lambda: token(STRANGER_KEY, "rsa-1"), "token signature does not verify"),
        (lambda: token(EC_KEY, "rsa-1", "ES256"), "token algorithm is not accepted"),
        (lambda: token(STRANGER_KEY, "rsa-9"), "token is signed with a key the identity provider does not publish"),
        (lambda: token(kid=None), "token is signed with a key the identity provider does not publish"),
        (lambda: "not.a.jwt", "token is malformed"),
        (lambda: token(permissions=7), "token claim permissions is not a list of strings"),
    ],
)
async def test_a_bad_token_is_a_401_saying_why_and_never_repeating_it(auth: Auth, make: Any, detail: str):
    value = make()
    error = await refused(auth, {"authorization": f"Bearer {value}"})
    assert (error.status_code, error.detail) == (401, detail)
    assert value not in str(error.detail)


@pytest.mark.parametrize("headers", [{}, {"authorization": "Basic YWxpY2U6cHc="}, {"x-api-key": "k"}])
async def test_without_a_bearer_token_it_is_a_401(auth: Auth, headers: dict[str, str]):
    error = await refused(auth, headers)
    assert (error.status_code, error.detail) == (401, "missing bearer token: send Authorization: Bearer <token>")


async def test_an_identity_provider_that_does_not_answer_is_a_503_not_the_callers_fault(monkeypatch):
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = jwt_bearer.build(settings(monkeypatch, KEEL_JWT_JWKS_URL=f"http://127.0.0.1:{port}/jwks.json"))
    error = await refused(auth, {"authorization": f"Bearer {token()}"})
    assert (error.status_code, error.detail) == (503, "cannot fetch the identity provider's signing keys")


async def test_a_pem_public_key_as_text_escaped_in_one_line_or_in_a_file(monkeypatch, tmp_path: Path):
    (tmp_path / "idp.pem").write_text(pem(EC_KEY))
    for value in (pem(EC_KEY), pem(EC_KEY).replace("\n", "\\n"), str(tmp_path / "idp.pem")):
        auth = jwt_bearer.build(settings(monkeypatch, KEEL_JWT_PUBLIC_KEY=value, KEEL_JWT_PERMISSIONS_CLAIM="scope"))
        user = await bearer(auth, token(EC_KEY, None, "ES256", scope="threads:read approvals:decide"))
        assert user["permissions"] == ["threads:read", "approvals:decide"]
        error = await refused(auth, {"authorization": f"Bearer {token(STRANGER_KEY, None)}"})
        assert (error.status_code, error.detail) == (401, "token algorithm is not accepted")


async def test_symmetric_and_unsigned_tokens_are_refused(monkeypatch):
    auth = jwt_bearer.build(settings(monkeypatch, KEEL_JWT_PUBLIC_KEY=pem(RSA_KEY)))
    for forged in (token("a-shared-secret-of-32-bytes-or-more!", None, "HS256"), token(None, None, "none")):
        error = await refused(auth, {"authorization": f"Bearer {forged}"})
        assert (error.status_code, error.detail) == (401, "token algorithm is not accepted")


async def test_a_nested_permissions_claim(monkeypatch, jwks: Jwks):
    nested = jwt_bearer.build(
        settings(monkeypatch, KEEL_JWT_JWKS_URL=jwks.url, KEEL_JWT_PERMISSIONS_CLAIM="realm_access.roles")
    )
    user = await bearer(nested, token(realm_access={"roles": ["approvals:decide"]}))
    assert user["permissions"] == ["approvals:decide"]


def test_langgraph_json_names_it_in_one_line(monkeypatch, tmp_path: Path, jwks: Jwks):
    settings(monkeypatch, KEEL_JWT_JWKS_URL=jwks.url)
    jwt_bearer._from_environment.cache_clear()
    try:
        loaded = load_auth({"path": "server.auth.jwt_bearer:auth"}, tmp_path, [tmp_path])
        assert isinstance(loaded, Auth)
    finally:
        jwt_bearer._from_environment.cache_clear()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, r"^invalid setting KEEL_JWT_JWKS_URL: set it or KEEL_JWT_PUBLIC_KEY"),
        ({"KEEL_JWT_JWKS_URL": "ftp://idp/jwks"}, r"^invalid setting KEEL_JWT_JWKS_URL: expected an http"),
        ({"KEEL_JWT_JWKS_URL": "http://idp/jwks", "KEEL_JWT_PUBLIC_KEY": "-----BEGIN x"}, r"not both"),
        ({"KEEL_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nnope"}, r"KEEL_JWT_PUBLIC_KEY: not a PEM public key"),
        ({"KEEL_JWT_PUBLIC_KEY": "/nowhere/idp.pem"}, r"KEEL_JWT_PUBLIC_KEY: expected a PEM or its path"),
        ({"KEEL_JWT_JWKS_URL": "http://idp/jwks", "KEEL_JWT_AUDIENCE": ""}, r"^invalid setting KEEL_JWT_AUDIENCE"),
        ({"KEEL_JWT_JWKS_URL": "http://idp/jwks", "KEEL_JWT_ALGORITHMS": "RS256,HS256"}, r"KEEL_JWT_ALGORITHMS"),
        (
            {"KEEL_JWT_PUBLIC_KEY": pem(EC_KEY), "KEEL_JWT_ALGORITHMS": "RS256"},
            r"none of RS256 fits KEEL_JWT_PUBLIC_KEY.s EC key",
        ),
        ({"KEEL_JWT_JWKS_URL": "http://idp/jwks", "KEEL_JWT_LEEWAY_S": "-1"}, r"^invalid setting KEEL_JWT_LEEWAY_S"),
    ],
)
def test_a_bad_setting_is_one_line_at_load(monkeypatch, tmp_path: Path, env: dict[str, str], expected: str):
    monkeypatch.setenv("KEEL_JWT_AUDIENCE", AUDIENCE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jwt_bearer._from_environment.cache_clear()
    with pytest.raises(SettingsError, match=expected) as caught:
        load_auth({"path": "server.auth.jwt_bearer:auth"}, tmp_path, [tmp_path])
    assert "\n" not in str(caught.value)


def test_audiences_and_algorithms_are_comma_separated(monkeypatch):
    read = settings(monkeypatch, KEEL_JWT_AUDIENCE="keel-api, keel-ui", KEEL_JWT_ALGORITHMS="ES256,EdDSA")
    assert (read.audience, read.algorithms) == (["keel-api", "keel-ui"], ["ES256", "EdDSA"])
