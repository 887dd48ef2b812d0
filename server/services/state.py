"""Thread state through the graph the thread runs: read (latest, at a checkpoint, history), update.

The graph is the one named by the thread's `metadata.graph_id` (set by the run routes when a run
is created, or by `threads.create(graph_id=...)`). A thread with no graph has an empty state and
no history. Snapshots are shaped like the SDK's `ThreadState`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.types import PregelTask, StateSnapshot

from server.auth.access import Access
from server.db.pool import Connection, Pool
from server.errors import BadRequest, Conflict, NotFound
from server.graph_loading import Graph, LoadedGraphs
from server.records import Thread
from server.runs import store
from server.runs.pending import pending_interrupts
from server.serialize import interrupt_to_json, to_json_compatible
from server.services import approvals
from server.services.access import visible_thread

log = logging.getLogger(__name__)


def thread_config(thread_id: UUID, checkpoint: dict[str, Any] | None = None) -> RunnableConfig:
    """`{"configurable": {"thread_id", "checkpoint_ns", ["checkpoint_id", "checkpoint_map"]}}`."""
    configurable: dict[str, Any] = {"thread_id": str(thread_id), "checkpoint_ns": ""}
    for key in ("checkpoint_ns", "checkpoint_id", "checkpoint_map"):
        if checkpoint and checkpoint.get(key) is not None:
            configurable[key] = checkpoint[key]
    return {"configurable": configurable}


def checkpoint_json(config: RunnableConfig | None) -> dict[str, Any] | None:
    configurable = (config or {}).get("configurable") or {}
    if "thread_id" not in configurable:
        return None
    return {
        "thread_id": str(configurable["thread_id"]),
        "checkpoint_ns": configurable.get("checkpoint_ns") or "",
        "checkpoint_id": configurable.get("checkpoint_id"),
        "checkpoint_map": to_json_compatible(configurable.get("checkpoint_map")),
    }


def snapshot_json(snapshot: StateSnapshot) -> dict[str, Any]:
    return {
        "values": to_json_compatible(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [_task_json(task) for task in snapshot.tasks],
        "metadata": to_json_compatible(snapshot.metadata),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint_json(snapshot.config),
        "parent_checkpoint": checkpoint_json(snapshot.parent_config),
        "interrupts": [interrupt_to_json(interrupt) for interrupt in snapshot.interrupts],
    }


def empty_state(thread_id: UUID) -> dict[str, Any]:
    return snapshot_json(StateSnapshot({}, (), thread_config(thread_id), None, None, None, (), ()))


def _task_json(task: PregelTask) -> dict[str, Any]:
    substate = task.state if isinstance(task.state, StateSnapshot) else None
    config = substate.config if substate is not None else task.state
    return {
        "id": task.id,
        "name": task.name,
        "path": to_json_compatible(task.path),
        "error": None if task.error is None else f"{type(task.error).__name__}: {task.error}",
        "interrupts": [interrupt_to_json(interrupt) for interrupt in task.interrupts],
        "checkpoint": checkpoint_json(config if isinstance(config, dict) else None),
        "state": snapshot_json(substate) if substate is not None else None,
        "result": to_json_compatible(task.result),
    }


def select_fields(state: dict[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """Keep the `select`ed keys; `values.<key>` keeps one key of the values."""
    if not select:
        return state
    picked = {key: value for key, value in state.items() if key in select}
    value_keys = [field.removeprefix("values.") for field in select if field.startswith("values.")]
    if value_keys and isinstance(state["values"], dict):
        picked["values"] = {key: state["values"][key] for key in value_keys if key in state["values"]}
    return picked


async def thread_graph(
    conn: Connection,
    graphs: LoadedGraphs,
    access: Access,
    thread_id: UUID,
    *,
    action: str = "read",
    value: dict[str, Any] | None = None,
    lock: bool = False,
) -> tuple[Thread, Graph | None]:
    """The thread row (or `NotFound`, also outside the caller's `threads.<action>` filters; `lock`ed for the
    transaction) and the graph its state belongs to (None: never run)."""
    await visible_thread(conn, access, action, thread_id, value)
    row = await store.get_thread(conn, thread_id, lock=lock)
    graph_id = (row["metadata"] or {}).get("graph_id")
    if graph_id is None:
        return row, None
    return row, graphs.entry(str(graph_id)).graph


async def read_state(
    graph: Graph | None, thread_id: UUID, checkpoint: dict[str, Any] | None, *, subgraphs: bool
) -> dict[str, Any]:
    if graph is None:
        if checkpoint and checkpoint.get("checkpoint_id"):
            raise NotFound(f"checkpoint {checkpoint['checkpoint_id']} not found on thread {thread_id}")
        return empty_state(thread_id)
    snapshot = await graph.aget_state(thread_config(thread_id, checkpoint), subgraphs=subgraphs)
    if checkpoint and checkpoint.get("checkpoint_id") and snapshot.created_at is None:
        raise NotFound(f"checkpoint {checkpoint['checkpoint_id']} not found on thread {thread_id}")
    state = snapshot_json(snapshot)
    state["interrupts"] = [item for items in (await pending_interrupts(graph, snapshot)).values() for item in items]
    return state


async def read_history(
    graph: Graph | None,
    thread_id: UUID,
    *,
    limit: int,
    before: str | dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    checkpoint: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    if graph is None:
        return []
    before_config = None
    if before is not None:
        before_config = thread_config(thread_id, {"checkpoint_id": before} if isinstance(before, str) else before)
    history = graph.aget_state_history(
        thread_config(thread_id, checkpoint), filter=metadata or None, before=before_config, limit=limit
    )
    return [snapshot_json(snapshot) async for snapshot in history]


async def update_state(
    pool: Pool,
    graphs: LoadedGraphs,
    access: Access,
    thread_id: UUID,
    *,
    values: Any,
    as_node: str | None,
    checkpoint: dict[str, Any] | None,
    discard_interrupts: bool = False,
) -> dict[str, Any]:
    """Write `values` as if `as_node` returned them; returns `{"checkpoint": ...}` of the new state.

    An update would silently drop the interrupts the thread is waiting on (and could write a tool's result
    that never happened in their place), so a thread with pending interrupts, at its head or at `checkpoint`,
    is refused unless the caller says `discard_interrupts`; the discarded ids are then recorded in the new
    checkpoint's metadata (`discarded_interrupts`, comma-separated). The thread row stays locked throughout,
    so no run starts on the thread while its state changes under it. Discarding an approval is a decision: the
    caller must be allowed to decide it (`server.services.approvals`), and it leaves an audit row."""
    async with pool.connection() as conn, conn.transaction():
        update = {"values": values, "as_node": as_node, "checkpoint": checkpoint}
        row, graph = await thread_graph(conn, graphs, access, thread_id, action="update", value=update, lock=True)
        if graph is None:
            raise BadRequest(
                f"thread {thread_id} has no graph yet: run it once, or create it with a graph_id, "
                "before updating its state"
            )
        if row["status"] == "busy":
            raise Conflict(f"thread {thread_id} is busy with a run; update its state when the run has ended")
        pending_items = await _pending(graph, thread_id, checkpoint)
        pending = list(pending_items)
        if pending and not discard_interrupts:
            raise Conflict(
                f"thread {thread_id} is waiting on interrupts {', '.join(pending)}: answer them with a run's "
                "command.resume, or set discard_interrupts=true to drop them with this update"
            )
        config = thread_config(thread_id, checkpoint)
        discarded = approvals.discards(access, thread_id, pending_items)
        if pending:
            config["metadata"] = {"discarded_interrupts": ",".join(pending)}  # checkpoint metadata keeps scalars only
            log.warning("thread %s: state update discards pending interrupts %s", thread_id, ", ".join(pending))
        try:
            written = await graph.aupdate_state(config, values, as_node=as_node)
        except InvalidUpdateError as exc:
            raise BadRequest(f"cannot update the state of thread {thread_id}: {exc}") from None
        await sync_thread_values(conn, graph, thread_id, await graph.aget_state(thread_config(thread_id)))
        await approvals.record(
            conn, discarded, run_id=None, at_head=not (checkpoint and checkpoint.get("checkpoint_id"))
        )
    return {"checkpoint": checkpoint_json(written)}


async def _pending(graph: Graph, thread_id: UUID, checkpoint: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The interrupts pending at the thread's head and at `checkpoint` (where an update would fork), by id."""
    found: dict[str, dict[str, Any]] = {}
    for at in (None, checkpoint) if checkpoint and checkpoint.get("checkpoint_id") else (None,):
        pending = await pending_interrupts(graph, await graph.aget_state(thread_config(thread_id, at)))
        for item in (item for items in pending.values() for item in items):
            found.setdefault(str(item["id"]), item)
    return found


async def sync_thread_values(conn: Connection, graph: Graph, thread_id: UUID, snapshot: StateSnapshot) -> None:
    """Store the latest values, pending interrupts (by task id) and the status they mean on the thread row
    (`interrupted` while a task waits, else `idle`); the caller has checked that no run is active."""
    interrupts = await pending_interrupts(graph, snapshot)
    await store.set_thread_values(
        conn,
        thread_id,
        values=to_json_compatible(snapshot.values),
        interrupts=interrupts,
        status="interrupted" if snapshot.next or interrupts else "idle",
    )
