"""What `/assistants/{id}/graph`, `/schemas` and `/subgraphs` show about a compiled graph.

A schema that cannot be expressed as JSON Schema (a state field of an arbitrary Python type) is
`None`, as the SDK's `GraphSchema` allows; the reason is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langgraph.channels.base import BaseChannel
from langgraph.pregel import Pregel
from pydantic import BaseModel, create_model

from server.errors import InvalidInput
from server.graph_loading import Graph
from server.serialize import to_json_compatible

log = logging.getLogger(__name__)


def graph_schemas(graph_id: str, graph: Graph) -> dict[str, Any]:
    return {
        "graph_id": graph_id,
        "input_schema": _schema(graph_id, "input", graph.get_input_jsonschema),
        "output_schema": _schema(graph_id, "output", graph.get_output_jsonschema),
        "state_schema": _schema(graph_id, "state", lambda: _state_jsonschema(graph)),
        "config_schema": _schema(graph_id, "config", lambda: _config_jsonschema(graph)),
        "context_schema": _schema(graph_id, "context", graph.get_context_jsonschema),
    }


def subgraph_schemas(graph_id: str, graph: Graph, namespace: str | None, recurse: bool) -> dict[str, Any]:
    return {
        ns: graph_schemas(graph_id, subgraph)
        for ns, subgraph in graph.get_subgraphs(namespace=namespace, recurse=recurse)
        if isinstance(subgraph, Pregel)
    }


def parse_xray(value: str) -> bool | int:
    """The SDK sends `xray` as true/false or a depth."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered.isascii() and lowered.isdigit() and len(lowered) <= 3:  # a depth; int() refuses some digits
        return int(lowered)
    raise InvalidInput(f"xray must be true, false or a depth from 0 to 999, got {value[:40]!r}")


def graph_drawing(graph: Graph, xray: bool | int) -> dict[str, Any]:
    drawn = to_json_compatible(graph.get_graph(xray=xray).to_json())
    assert isinstance(drawn, dict)
    return drawn


def _state_jsonschema(graph: Graph) -> dict[str, Any]:
    fields: dict[str, Any] = {
        key: (channel.ValueType, None)
        for key in graph.stream_channels_list
        if isinstance(channel := graph.channels.get(key), BaseChannel)
    }
    model: type[BaseModel] = create_model(graph.get_name("State"), **fields)
    return model.model_json_schema()


def _config_jsonschema(graph: Graph) -> dict[str, Any]:
    fields: dict[str, Any] = {"configurable": (graph.context_schema, None)} if graph.context_schema else {}
    model: type[BaseModel] = create_model(graph.get_name("Config"), **fields)
    return model.model_json_schema()


def _schema(graph_id: str, kind: str, make: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    try:
        return make()
    except Exception as exc:  # pydantic cannot describe some Python types; the SDK accepts None
        log.warning("graph %r: no JSON schema for its %s: %s: %s", graph_id, kind, type(exc).__name__, exc)
        return None
