"""Which graph a run's `assistant_id` names, and the configuration it brings.

An assistant id is a graph id from langgraph.json, the id of its system assistant, or the id of a named
assistant in `keel.assistants` (a graph plus stored config, context and metadata).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.db.pool import Connection
from server.errors import NotFound
from server.graphs import LoadedGraphs
from server.services.assistants import get_assistant


@dataclass(frozen=True)
class Assistant:
    assistant_id: str
    graph_id: str
    config: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def run_timeout_s(self) -> float | None:
        """A named assistant may shorten or lengthen KEEL_RUN_TIMEOUT with metadata `run_timeout_s`."""
        value = self.metadata.get("run_timeout_s")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def merged_config(self, run_config: dict[str, Any] | None) -> dict[str, Any]:
        """The assistant's config under the run's: run keys win, `configurable` merges key by key."""
        run_config = run_config or {}
        merged = {**self.config, **run_config}
        merged["configurable"] = {**(self.config.get("configurable") or {}), **(run_config.get("configurable") or {})}
        return merged


async def resolve_assistant(conn: Connection, graphs: LoadedGraphs, assistant_id: str) -> Assistant:
    """A graph id or an assistant id (system or named) to the graph and stored configuration to run."""
    row = await get_assistant(conn, graphs, assistant_id)
    if row["graph_id"] not in graphs:
        known = ", ".join(graphs) or "none"
        raise NotFound(
            f"assistant {assistant_id} runs graph {row['graph_id']!r}, which is not loaded (loaded: {known})"
        )
    return Assistant(str(row["assistant_id"]), row["graph_id"], row["config"], row["context"], row["metadata"])
