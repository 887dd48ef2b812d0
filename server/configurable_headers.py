"""Request headers a run's graph sees in `config["configurable"]`, as LangGraph Server's `http.configurable_headers`
setting in `langgraph.json` chooses them:

```json
"http": {"configurable_headers": {"includes": ["x-user-id", "my-prefix-*"], "excludes": ["x-secret-*"]}}
```

Patterns match lower-cased header names; `*` is the only wildcard (no other regex, so no pathological pattern).
An exclude wins over an include. With no `includes`, no header is passed (LangGraph Server's default), and
`authorization`, `x-api-key`, `x-service-key` and `x-tenant-id` are never passed, whatever the patterns say.
`langsmith-trace` (and the LangSmith keys of `baggage`) are always passed, as there, for tracing.
`include` / `exclude` are accepted as aliases, as there.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from server.config_file import section
from server.settings import SettingsError

log = logging.getLogger(__name__)

NEVER = frozenset({"authorization", "x-api-key", "x-service-key", "x-tenant-id"})
_TRACE = "langsmith-trace"
_BAGGAGE_METADATA, _BAGGAGE_TAGS, _BAGGAGE_PROJECT = "langsmith-metadata", "langsmith-tags", "langsmith-project"


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text.lower()) + r"\Z", re.DOTALL)


class HeaderFilter:
    """Which request headers go into a run's `config.configurable`."""

    def __init__(self, includes: list[str] | None = None, excludes: list[str] | None = None) -> None:
        self._includes = [_pattern(p) for p in includes or ()]
        self._excludes = [_pattern(p) for p in excludes or ()]
        self.passes = lru_cache(maxsize=512)(self._passes)

    def _passes(self, name: str) -> bool:
        if name in NEVER or any(p.match(name) for p in self._excludes):
            return False
        return any(p.match(name) for p in self._includes)

    def configurable(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The headers (names lower-cased) that pass, plus LangSmith's tracing headers."""
        chosen: dict[str, Any] = {}
        for raw_name, value in headers.items():
            name = raw_name.lower()
            if name == _TRACE:
                chosen[name] = value
                chosen |= _baggage(headers.get("baggage", ""))
            elif self.passes(name):
                chosen[name] = value
        return chosen


def _baggage(baggage: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in baggage.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        text = urllib.parse.unquote(value)
        if key == _BAGGAGE_METADATA and key not in found:
            try:
                metadata = json.loads(text)
            except json.JSONDecodeError:
                metadata = None
            if isinstance(metadata, dict):
                found[key] = metadata
            else:
                log.warning("ignoring malformed langsmith-metadata in the baggage header")
        elif key == _BAGGAGE_TAGS:
            found[key] = text.split(",")
        elif key == _BAGGAGE_PROJECT:
            found[key] = text
    return found


def header_filter(config_path: Path | None) -> HeaderFilter:
    """The filter `langgraph.json`'s `http.configurable_headers` describes (none passes when it is absent)."""
    setting = section(config_path, "http").get("configurable_headers") or {}
    if not isinstance(setting, dict):
        raise SettingsError(f"{config_path}: http.configurable_headers must be an object")
    lists: dict[str, list[str]] = {}
    for name, alias in (("includes", "include"), ("excludes", "exclude")):
        value = setting.get(name) or setting.get(alias) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(f"{config_path}: http.configurable_headers.{name} must be a list of strings")
        lists[name] = value
    return HeaderFilter(lists["includes"], lists["excludes"])
