"""API keys from the environment. In langgraph.json: `"auth": {"path": "server.auth.api_keys:auth"}`.

KEEL_API_KEYS maps each key's sha256 hex digest to the user it stands for, so no configuration holds a key:
    KEEL_API_KEYS={"<sha256 hex>": {"identity": "alice", "permissions": ["approvals:decide"], "display_name": "Al"}}
A caller sends its key as `x-api-key: <key>` or `Authorization: Bearer <key>`.

    python -m server.auth.api_keys new          # a fresh random key and its digest
    python -m server.auth.api_keys hash [KEY]   # a key's digest (KEY read from stdin when left out)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Sequence
from functools import cache
from typing import Any

from langgraph_sdk import Auth

from server.auth.credentials import api_key, unauthorized
from server.settings import ApiKeySettings, read_group


def hash_key(key: str) -> str:
    """The digest KEEL_API_KEYS stores. Plain sha256 is enough: keys are random, not passwords to guess."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "keel_" + secrets.token_urlsafe(32)


def build(settings: ApiKeySettings) -> Auth:
    """An `Auth` whose `@auth.authenticate` accepts the keys `settings` holds."""
    users = [(digest.encode(), user) for digest, user in settings.keys.items()]
    auth = Auth()

    @auth.authenticate
    async def authenticate(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
        key = api_key(headers)
        if key is None:
            raise unauthorized("missing API key: send it as x-api-key: <key> or Authorization: Bearer <key>")
        digest = hash_key(key).encode()
        found = None
        for known, user in users:  # every digest is compared, in constant time: timing tells no near miss
            found = user if hmac.compare_digest(digest, known) else found
        if found is None:
            raise unauthorized("invalid API key")
        return {
            "identity": found.identity,
            "permissions": list(found.permissions),
            "display_name": found.display_name or found.identity,
        }

    return auth


@cache
def _from_environment() -> Auth:
    return build(read_group(ApiKeySettings))


def __getattr__(name: str) -> Any:
    # `auth` is built (and KEEL_API_KEYS read) when langgraph.json's loader asks for it, not on import.
    if name == "auth":
        return _from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["new"]:
        key = new_key()
        sys.stdout.write(f"key:    {key}\nsha256: {hash_key(key)}\n")
        return 0
    if argv and argv[0] == "hash" and len(argv) <= 2:
        key = argv[1] if len(argv) == 2 else sys.stdin.readline().strip()
        if not key:
            sys.stderr.write("keel: no key given\n")
            return 2
        sys.stdout.write(hash_key(key) + "\n")
        return 0
    sys.stderr.write("usage: python -m server.auth.api_keys new | hash [KEY]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
