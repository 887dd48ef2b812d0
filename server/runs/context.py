"""A run's `context` and `config.configurable`, as LangGraph Server treats them, and what a graph's
`Runtime.context` is for a run.

A request sends `context` or `config.configurable` (not both: 400), and whichever it sends is mirrored into
the other. An assistant's stored pair, mirrored the same way, sits under the run's, key by key. A graph with
a `context_schema` gets the run's context filtered to the schema's fields (LangGraph then builds a dataclass
or pydantic schema from it), so a run with no context gets the schema's defaults, never `None`. keel's own
graphs get the desk database and the chat models (`nodes.context.Context`).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from pydantic import BaseModel

from nodes.context import Context, ModelProvider
from nodes.faults import ToolFaults
from server.db.pool import Pool
from server.errors import BadRequest
from server.graph_loading import Graph
from server.runs.worker import ContextFor
from tools.limits import Limits


def requested_config_and_context(
    config: dict[str, Any] | None, context: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request's config and context, each mirrored from the other; `BadRequest` when it sends both."""
    if (config or {}).get("configurable") and context:
        raise BadRequest(
            "send `context` or `config.configurable`, not both: keel mirrors either into the other "
            "(context is LangGraph's replacement for configurable since LangGraph 0.6)"
        )
    return mirrored(config, context)


def mirrored(config: dict[str, Any] | None, context: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(config, context)` where an empty one of `config.configurable` and `context` copies the other.
    When both are set (an assistant stored with both), each is kept as it is."""
    config = dict(config or {})
    context = dict(context or {})
    configurable = dict(config.get("configurable") or {})
    if context and not configurable:
        configurable = dict(context)
    elif configurable and not context:
        context = dict(configurable)
    config["configurable"] = configurable
    return config, context


# The Context fields a run's (or its assistant's) context may set; the rest is the server's.
OVERRIDABLE = ("max_steps", "max_repeated_calls", "max_idle_turns")


def context_builder(pool: Pool, models: ModelProvider, limits: Limits, faults: ToolFaults | None = None) -> ContextFor:
    def build(graph: Graph, requested: Any) -> Any:
        requested = {} if requested is None else requested
        if graph.context_schema is not Context:
            return for_schema(graph.context_schema, requested)
        overrides = {key: requested[key] for key in OVERRIDABLE if isinstance(requested, dict) and key in requested}
        return Context(db=pool, models=models, limits=limits, faults=faults, **overrides)

    return build


def for_schema(schema: Any, context: Any) -> Any:
    """The run's context without the keys the graph's schema does not declare (mirrored configurable values such
    as `thread_id` would make its dataclass or pydantic model refuse to build), as LangGraph Server filters it."""
    if schema is None or not isinstance(context, dict):
        return context
    fields = _fields(schema)
    if not fields:
        return context
    return {key: value for key, value in context.items() if key in fields}


@functools.cache
def _fields(schema: Any) -> frozenset[str]:
    """The names a context schema declares (a dataclass, a pydantic model or a TypedDict); empty when unknown."""
    if dataclasses.is_dataclass(schema):
        return frozenset(field.name for field in dataclasses.fields(schema))
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        aliases = {field.alias for field in schema.model_fields.values() if field.alias}
        return frozenset(schema.model_fields) | aliases
    try:
        return frozenset(typing.get_type_hints(schema))
    except Exception:  # an annotation that does not resolve: pass the context unfiltered
        return frozenset()
