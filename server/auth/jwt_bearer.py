"""JWT/OIDC bearer tokens. In langgraph.json: `"auth": {"path": "server.auth.jwt_bearer:auth"}`.

A token (`Authorization: Bearer <jwt>`) is accepted when its signature verifies against the identity provider's key
(KEEL_JWT_JWKS_URL, keys fetched and cached by kid, or one KEEL_JWT_PUBLIC_KEY), its `aud` is one of
KEEL_JWT_AUDIENCE, its `iss` is KEEL_JWT_ISSUER (when set) and it has not expired (KEEL_JWT_LEEWAY_S of clock skew
allowed). The user is `sub`; permissions come from KEEL_JWT_PERMISSIONS_CLAIM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from langgraph_sdk import Auth

from server.auth.credentials import bearer_token, unauthorized
from server.settings import JwtSettings, SettingsError, read_group

# A JWKS endpoint that does not answer fails the request after this long, not after urllib's default.
_JWKS_TIMEOUT_S = 10.0

_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "RS": (rsa.RSAPublicKey,),
    "PS": (rsa.RSAPublicKey,),
    "ES": (ec.EllipticCurvePublicKey,),
    "Ed": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}

# The most specific first: several are subclasses of others.
_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "token has expired"),
    (jwt.ImmatureSignatureError, "token is not valid yet"),
    (jwt.InvalidAudienceError, "token audience is not accepted"),
    (jwt.InvalidIssuerError, "token issuer is not accepted"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
    (jwt.DecodeError, "token is malformed"),
    (jwt.PyJWKClientError, "token is signed with a key the identity provider does not publish"),
]


def build(settings: JwtSettings) -> Auth:
    """An `Auth` whose `@auth.authenticate` accepts the tokens `settings` describes."""
    verify = _verifier(settings)
    auth = Auth()

    @auth.authenticate
    async def authenticate(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
        token = bearer_token(headers)
        if token is None:
            raise unauthorized("missing bearer token: send Authorization: Bearer <token>")
        try:
            claims = await verify(token)
        except jwt.PyJWKClientConnectionError:
            # The identity provider is down: not the caller's fault, and retrying may work.
            raise Auth.exceptions.HTTPException(
                status_code=503, detail="cannot fetch the identity provider's signing keys"
            ) from None
        except jwt.PyJWTError as exc:
            raise unauthorized(_reason(exc)) from None
        if not claims["sub"]:  # PyJWT requires the claim and a string, but "" would be everyone's identity
            raise unauthorized("token subject is empty")
        return {
            "identity": claims["sub"],
            "permissions": _permissions(claims, settings.permissions_claim),
            "display_name": name if isinstance(name := claims.get("name"), str) and name else claims["sub"],
        }

    return auth


def _verifier(settings: JwtSettings) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """`await verify(token)`: the token's claims, or a `jwt.PyJWTError` saying why not."""
    if settings.jwks_url is not None and settings.public_key is not None:
        raise SettingsError("invalid setting KEEL_JWT_PUBLIC_KEY: set it or KEEL_JWT_JWKS_URL, not both")
    required = ["exp", "sub", "aud"] + (["iss"] if settings.issuer else [])

    def decode(token: str, key: Any, algorithms: Sequence[str]) -> dict[str, Any]:
        return jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_s,
            options={"require": required},
        )

    if settings.jwks_url is not None:
        client = jwt.PyJWKClient(settings.jwks_url, lifespan=settings.jwks_cache_s, timeout=_JWKS_TIMEOUT_S)

        def from_jwks(token: str) -> dict[str, Any]:
            return decode(token, client.get_signing_key_from_jwt(token), settings.algorithms)

        async def verify_with_jwks(token: str) -> dict[str, Any]:
            return await asyncio.to_thread(from_jwks, token)  # a fetch (urllib) must not block the event loop

        return verify_with_jwks

    key = _public_key(settings)
    # Only the algorithms of the key's kind: PyJWT raises TypeError (not a token error) on an RS256 token and an EC key.
    algorithms = [name for name in settings.algorithms if isinstance(key, _KEY_TYPES[name[:2]])]
    if not algorithms:
        raise SettingsError(
            f"invalid setting KEEL_JWT_ALGORITHMS: none of {','.join(settings.algorithms)} fits KEEL_JWT_PUBLIC_KEY's "
            f"{type(key).__name__.removesuffix('PublicKey')} key"
        )

    async def verify_with_key(token: str) -> dict[str, Any]:
        return decode(token, key, algorithms)

    return verify_with_key


def _public_key(settings: JwtSettings) -> PublicKeyTypes:
    text = settings.public_key
    if text is None:
        raise SettingsError("invalid setting KEEL_JWT_JWKS_URL: set it or KEEL_JWT_PUBLIC_KEY (a PEM or its path)")
    if "-----BEGIN" not in text:
        try:
            text = Path(text).read_text()
        except (OSError, UnicodeError) as exc:  # neither PEM text nor a readable file
            reason = " ".join(str(exc).split())
            raise SettingsError(f"invalid setting KEEL_JWT_PUBLIC_KEY: expected a PEM or its path ({reason})") from None
    try:
        return load_pem_public_key(text.replace("\\n", "\n").encode())
    except (ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise SettingsError(f"invalid setting KEEL_JWT_PUBLIC_KEY: not a PEM public key ({reason})") from None


def _reason(exc: jwt.PyJWTError) -> str:
    """What was wrong with the token, in words that repeat nothing from it."""
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "token is not valid")


def _permissions(claims: dict[str, Any], claim: str) -> list[str]:
    value: Any = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return []
    if isinstance(value, str):  # OAuth's `scope`: space-separated
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise unauthorized(f"token claim {claim} is not a list of strings")


@cache
def _from_environment() -> Auth:
    return build(read_group(JwtSettings))


def __getattr__(name: str) -> Any:
    # `auth` is built (and KEEL_JWT_* read) when langgraph.json's loader asks for it, not on import.
    if name == "auth":
        return _from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
