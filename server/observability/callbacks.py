"""A LangChain callback handler timing nodes and counting tool calls for Prometheus."""

# ruff: noqa: ARG002 -- callback signatures are LangChain's; most arguments are not needed here

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from server.observability import metrics


class StepMetrics(BaseCallbackHandler):
    """Node durations (`keel_node_duration_seconds`) and tool outcomes (`keel_tool_calls_total`) of one run."""

    run_inline = True
    # Model events are UsageCollector's: skipping them here saves a callback per streamed token.
    ignore_llm = True
    ignore_chat_model = True

    def __init__(self, graph: str) -> None:
        self.graph = graph
        self._nodes: dict[uuid.UUID, tuple[str, float]] = {}
        self._tools: dict[uuid.UUID, str] = {}
        self._lock = threading.Lock()

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: uuid.UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        # A node's own run carries its name; chains inside the node inherit the metadata under other names.
        if node and kwargs.get("name") == node:
            with self._lock:
                self._nodes[run_id] = (str(node), time.monotonic())

    def on_chain_end(self, outputs: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._node_done(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._node_done(run_id)  # an interrupt ends a node this way too: it still took this long

    def _node_done(self, run_id: uuid.UUID) -> None:
        with self._lock:
            started = self._nodes.pop(run_id, None)
        if started is not None:
            node, at = started
            metrics.NODE_DURATION.labels(graph=self.graph, node=node).observe(time.monotonic() - at)

    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, *, run_id: uuid.UUID, **kwargs: Any
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name") or "unknown"
        with self._lock:
            self._tools[run_id] = str(name)

    def on_tool_end(self, output: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._tool_done(run_id, "ok")

    def on_tool_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._tool_done(run_id, "error")

    def _tool_done(self, run_id: uuid.UUID, outcome: str) -> None:
        with self._lock:
            tool = self._tools.pop(run_id, None)
        if tool is not None:
            metrics.TOOL_CALLS.labels(tool=tool, outcome=outcome).inc()
