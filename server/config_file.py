"""Top-level sections of `langgraph.json` other than `graphs` (`store`, `http`), read as LangGraph Server reads
them. A missing file or section is an empty object; a section of the wrong type stops keel at start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server.settings import SettingsError


def section(config_path: Path | None, name: str) -> dict[str, Any]:
    """The object under `name`, or `{}`. `config_path` is the registry keel loaded its graphs from."""
    if config_path is None or not config_path.is_file():
        return {}
    try:
        data = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"cannot read {config_path}: {exc}") from None
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingsError(f'{config_path}: "{name}" must be an object, got {type(value).__name__}')
    return value
