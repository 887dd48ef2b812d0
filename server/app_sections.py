"""The sections of `langgraph.json` beside `graphs`, read as the LangGraph CLI reads them.

- `env`: a `.env` file (relative to langgraph.json's folder) or an object of strings, applied before any graph
  loads. A variable already set in keel's environment keeps its value: the real environment wins, as with
  keel's own `.env` and with `langgraph up` (Docker's `--env-file`); `langgraph dev` lets the file win instead.
  keel's own settings (`KEEL_*`, `DATABASE_URL`, `OPENAI_*`) are read before it, so it cannot set them.
- `dependencies`: a path (`"."`, `"./libs/x"`) is added to the import path, with its `src/` folder when it has
  one (what `pip install -e` of a src layout gives); a package name is noted in the log: keel installs nothing,
  it must be installed in keel's environment already.
- `http.app`: `"path:attr"` naming a Starlette or FastAPI app (`server.user_app` serves it beside keel's routes).
- `auth.path`: `"path:attr"` naming a `langgraph_sdk.Auth` instance, enforced by `server.auth`.
- `store`: checked against LangGraph's shape (`index.dims`/`embed`/`fields`, `ttl`) and kept for the store.

Every mistake is a `UserCodeError` of one line naming the section.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, NonNegativeFloat, PositiveInt, ValidationError
from starlette.applications import Starlette

from server.auth.authenticate import AuthCodeError, check_authenticate
from server.user_code import UserCodeError, load_attribute

log = logging.getLogger(__name__)


def apply_env(value: Any, base: Path) -> list[str]:
    """Set the section's variables that the environment does not set already; returns their names."""
    if value is None:
        return []
    if isinstance(value, str):
        path = (base / value).resolve()
        if not path.is_file():
            raise UserCodeError(f"env: file not found: {path}")
        variables = {key: text for key, text in dotenv_values(path).items() if text is not None}
    elif isinstance(value, dict) and all(isinstance(text, str) for text in value.values()):
        variables = value
    else:
        raise UserCodeError('env: expected a path to a .env file or an object of strings ({"NAME": "value"})')
    applied = [key for key in variables if key not in os.environ]
    for key in applied:
        os.environ[key] = variables[key]
    if len(applied) < len(variables):
        kept = sorted(set(variables) - set(applied))
        log.info("langgraph.json env: %s already set in the environment, which wins", ", ".join(kept))
    return applied


def dependency_roots(value: Any, base: Path) -> list[Path]:
    """The folders the section's paths add to the import path, in order."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UserCodeError('dependencies: expected a list of paths and package names, e.g. ["."]')
    roots: list[Path] = []
    for item in value:
        if not item.startswith((".", "/")):
            log.info("langgraph.json dependency %r is a package: keel installs nothing, it must be installed", item)
            continue
        folder = (base / item).resolve()
        if not folder.is_dir():
            raise UserCodeError(f"dependencies: {item!r} is not a folder ({folder})")
        roots.append(folder)
        src = folder / "src"
        if src.is_dir() and not (src / "__init__.py").exists():
            roots.append(src)
    return roots


def load_http_app(value: Any, base: Path, roots: Sequence[Path]) -> Starlette | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UserCodeError('http: expected an object such as {"app": "./my_app.py:app"}')
    spec = value.get("app")
    if spec is None:
        return None
    app = load_attribute(spec, base, roots, f"http.app ({spec})")
    if not isinstance(app, Starlette):
        raise UserCodeError(f"http.app ({spec}): is a {type(app).__name__}, expected a Starlette or FastAPI app")
    return app


def load_auth(value: Any, base: Path, roots: Sequence[Path]) -> Any:
    """The `langgraph_sdk.Auth` instance `auth.path` names, or None when there is no `auth` section."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        raise UserCodeError('auth: expected an object with a "path", e.g. {"path": "./auth.py:auth"}')
    from langgraph_sdk import Auth  # noqa: PLC0415  # the client library, needed only by apps that declare auth

    spec = value["path"]
    auth = load_attribute(spec, base, roots, f"auth.path ({spec})")
    if not isinstance(auth, Auth):
        raise UserCodeError(f"auth.path ({spec}): is a {type(auth).__name__}, expected a langgraph_sdk.Auth instance")
    try:
        check_authenticate(auth)
    except AuthCodeError as exc:
        raise UserCodeError(f"auth.path ({spec}): {exc}") from None
    return auth


class _Index(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    dims: PositiveInt
    embed: str
    fields: list[str] | None = None


class _Ttl(BaseModel):
    model_config = ConfigDict(extra="allow")
    refresh_on_read: bool = True
    default_ttl: NonNegativeFloat | None = None
    sweep_interval_minutes: PositiveInt | None = None


class _Store(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: _Index | None = None
    ttl: _Ttl | None = None


def check_store(value: Any) -> dict[str, Any] | None:
    """The `store` section as written, once it has LangGraph's shape."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UserCodeError('store: expected an object such as {"index": {"dims": 1536, "embed": "openai:..."}}')
    try:
        _Store.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UserCodeError(f"store: {where}: {first['msg']}") from None
    return value
