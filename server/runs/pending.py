"""Which interrupts a thread waits on, by task id: what a run's outcome, the thread row and its state show.

LangGraph's `StateSnapshot` lists the interrupts of the tasks it derives from the checkpoint's channels. A task
started by a `Command(goto=Send(...))` sent to a thread with nothing left to run is not among them: its writes,
interrupt included, hang off the finished checkpoint, so the snapshot says there is nothing pending while the
resume check (strict resume) knows the interrupt. Reading the checkpoint's task statuses the way that check does
keeps the two views equal: such a run ends `interrupted` and its approval is shown and answerable like any other.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel._task_status import read_task_statuses
from langgraph.types import StateSnapshot

from server.graph_loading import Graph
from server.serialize import interrupt_to_json


async def pending_interrupts(
    graph: Graph, snapshot: StateSnapshot, *, read_writes: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """Task id -> its pending interrupts (`{"id", "value"}`), at the snapshot's checkpoint. `read_writes=False`
    trusts the snapshot, saving a checkpoint read, when no `Command` could have left an unlisted task."""
    listed = {task.id: [interrupt_to_json(i) for i in task.interrupts] for task in snapshot.tasks if task.interrupts}
    if listed or snapshot.next or not read_writes or not isinstance(graph.checkpointer, BaseCheckpointSaver):
        return listed
    saved = await graph.checkpointer.aget_tuple(snapshot.config)
    statuses = read_task_statuses(saved.pending_writes or []) if saved is not None else {}
    return {
        task_id: [interrupt_to_json(i) for i in status.pending_interrupts]
        for task_id, status in statuses.items()
        if status.pending_interrupts
    }
