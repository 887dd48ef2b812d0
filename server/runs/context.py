"""What a graph's `Runtime.context` is for a run: keel's own graphs get the desk database and the chat
models (`nodes.context.Context`); any other graph gets the run's `context` as the client sent it."""

from __future__ import annotations

from typing import Any

from nodes.context import Context, ModelProvider
from server.db.pool import Pool
from server.graph_loading import Graph
from server.runs.worker import ContextFor


def context_builder(pool: Pool, models: ModelProvider) -> ContextFor:
    def build(graph: Graph, requested: Any) -> Any:
        if graph.context_schema is not Context:
            return requested
        overrides = {key: requested[key] for key in ("max_steps",) if isinstance(requested, dict) and key in requested}
        return Context(db=pool, models=models, **overrides)

    return build
