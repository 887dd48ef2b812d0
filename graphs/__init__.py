"""keel's graphs by id, one line each, as `module:builder` (the same entries as langgraph.json's "graphs").

Entries are strings, not imported functions, because nodes/ imports graphs.state and graphs.context: importing
every builder here would make `import nodes` circular. `builder(graph_id)` imports one when it is needed."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from langgraph.graph import StateGraph

GRAPHS: dict[str, str] = {
    "support": "graphs.support:build",
    "onboarding": "graphs.onboarding:build",
}


def builder(graph_id: str) -> Callable[[], StateGraph[Any, Any, Any, Any]]:
    """The builder function registered as `graph_id` (it returns an uncompiled StateGraph)."""
    module, _, attr = GRAPHS[graph_id].partition(":")
    build: Callable[[], StateGraph[Any, Any, Any, Any]] = getattr(importlib.import_module(module), attr)
    return build
