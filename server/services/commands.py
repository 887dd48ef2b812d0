"""A run's `command`, checked before the run exists: where the approval invariant is enforced for the API.

LangGraph hands a plain (un-keyed) resume value to the first `interrupt()` a run reaches, even one that did
not exist when the value was sent: a resume sent with a `goto` into a worker would accept the approval that
worker is about to ask for, without anyone having seen it. So keel accepts a resume only as an answer to
interrupts pending where the run starts, and stores it as a map from interrupt id to value, which LangGraph
gives to those interrupts and no other (with strict resume on, see `server.runs.execute.run_config`):

- nothing pending (the thread never ran, finished, or is busy): 409 naming the thread's state;
- a map must name pending interrupts only (409 listing the pending ids); an un-keyed value is allowed only
  when exactly one is pending (409 listing them otherwise);
- an answer to a budget interrupt (nodes/budget.py) must be an extend raising every limit reached, or a stop (422);
- an answer to one of keel's own approvals must be a valid decision for that tool (422): an accept carries
  no arguments, an edit's arguments pass the tool's schema (as it coerces them: "49" is a number); an approval of
  several calls (one model turn's) takes LangChain's `{"decisions": [...]}`, one per call in order.

A `goto` to the end (`"__end__"`, alone) is "mark as resolved", as Agent Chat UI sends it: every approval pending
at the thread's head is answered with a `resolved` decision (audited; the calls do not run). Only keel's approvals
can be resolved so (422 when another interrupt is pending; 409 when nothing is).

Any other `goto` must name nodes of the graph, with the input a node that takes its own input needs, and cannot ride
along with a resume (422 otherwise); `resume: null` and an empty command are refused (422) instead of failing
the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langgraph.graph.state import CompiledStateGraph
from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError

from nodes.approval import decision_problem, is_approval
from nodes.budget import answer_problem as budget_answer_problem
from nodes.budget import is_budget
from server.db.pool import Connection
from server.errors import Conflict, InvalidInput, NotFound
from server.graph_loading import Graph
from server.runs import store
from server.runs.pending import pending_interrupts
from server.services.state import thread_config

Interrupt = Mapping[str, Any]  # {"id": ..., "value": ...}, as the API shows a pending interrupt
END = "__end__"  # LangGraph's END: a goto there is "mark as resolved"
RESOLVED = {"type": "resolved"}
_INTERRUPT_ID = re.compile(r"[0-9a-f]{32}")  # LangGraph's interrupt ids (xxh3-128 hex digests)


def check_shape(command: Mapping[str, Any], graph: Graph) -> None:
    """What can be checked without the thread: the command does something, and its goto fits the graph."""
    if not command:
        raise InvalidInput("command is empty: give it a resume, an update or a goto")
    if "resume" in command and command["resume"] is None:
        raise InvalidInput("command.resume is null: send the answer to the pending interrupt, or leave resume out")
    if resolves(command):
        if stray := sorted(key for key in command if key != "goto" and command[key] is not None):
            raise InvalidInput(
                f"command.goto {END!r} marks the pending approvals resolved and takes nothing beside it "
                f"(not {', '.join(stray)})"
            )
        return
    if command.get("goto") is not None:
        if "resume" in command:
            # LangGraph drops the interrupted tasks when a goto starts other work beside the resume, and an
            # un-keyed value would go to the first interrupt the goto reaches: answer first, then go elsewhere.
            raise InvalidInput(
                "command.resume and command.goto cannot be combined: resume the pending interrupts first, then "
                "send the goto in a run of its own"
            )
        _check_goto(command["goto"], graph)


def resolves(command: Mapping[str, Any]) -> bool:
    """Whether the command is "mark as resolved": a goto to the end (Agent Chat UI sends `{"goto": "__end__"}`)."""
    goto = command.get("goto")
    return goto == END or goto == [END]


async def resolve_answers(
    conn: Connection, graph: Graph, thread_id: UUID, kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Interrupt]]:
    """ "Mark as resolved" as a resume: every approval pending where the run starts answered with a `resolved`
    decision, and the interrupts it answers (by id). Call where `resume_answers` is called."""
    pending, status = await _pending_where_run_starts(conn, graph, thread_id, kwargs)
    if pending is None:
        raise Conflict(f"thread {thread_id} is busy with a run; mark its approvals resolved when the run has stopped")
    if not pending:
        raise Conflict(f"thread {thread_id} has no pending approval to mark resolved (status {status})")
    if others := [str(item["id"]) for item in pending if not is_approval(item.get("value"))]:
        raise InvalidInput(
            f"command.goto {END!r} marks keel's approvals resolved, but interrupt {', '.join(others)} on thread "
            f"{thread_id} is not one: answer it with command.resume"
        )
    return {str(item["id"]): dict(RESOLVED) for item in pending}, {str(item["id"]): item for item in pending}


async def _pending_where_run_starts(
    conn: Connection, graph: Graph, thread_id: UUID, kwargs: Mapping[str, Any]
) -> tuple[list[Interrupt] | None, str]:
    """The interrupts pending where the run starts (None: the thread is busy) and the thread's state, in words."""
    checkpoint = dict(kwargs.get("checkpoint") or {})
    if forks(kwargs):
        checkpoint_id = kwargs.get("checkpoint_id") or checkpoint["checkpoint_id"]
        # A run from an earlier checkpoint answers what was pending there, whatever the thread's head is.
        snapshot = await graph.aget_state(thread_config(thread_id, checkpoint | {"checkpoint_id": checkpoint_id}))
        if snapshot.created_at is None:
            raise NotFound(f"checkpoint {checkpoint_id} not found on thread {thread_id}")
        pending: list[Interrupt] = [
            item for items in (await pending_interrupts(graph, snapshot)).values() for item in items
        ]
        return pending, f"at checkpoint {checkpoint_id}"
    status, at_head = await store.pending_interrupts(conn, thread_id)
    return (None if status == "busy" else list(at_head)), status


async def resume_answers(
    conn: Connection, graph: Graph, thread_id: UUID, kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Interrupt]]:
    """`kwargs["command"]["resume"]` as a map from pending interrupt id to answer, and the interrupts it answers (by
    id). Call in the transaction that locked the thread row (`store.ensure_thread`): no other run can be created on
    it until this one is."""
    resume = kwargs["command"]["resume"]
    pending, status = await _pending_where_run_starts(conn, graph, thread_id, kwargs)
    answers = resolve_resume(resume, pending, thread_id=thread_id, thread_status=status)
    pending = pending or []
    return answers, {str(item["id"]): item for item in pending if str(item["id"]) in answers}


def forks(kwargs: Mapping[str, Any]) -> bool:
    """Whether the run starts from an earlier checkpoint rather than the thread's head."""
    return bool(kwargs.get("checkpoint_id") or (kwargs.get("checkpoint") or {}).get("checkpoint_id"))


def resolve_resume(
    resume: Any, pending: Sequence[Interrupt] | None, *, thread_id: UUID, thread_status: str
) -> dict[str, Any]:
    """The resume as a map from pending interrupt id to answer, or a `Conflict`/`InvalidInput` saying why not.
    `pending` is None when the thread is busy (what will be pending is not known yet)."""
    if pending is None:
        raise Conflict(
            f"thread {thread_id} is busy with a run, so it has no pending interrupt to resume yet; "
            "resume it when the run has stopped at an interrupt"
        )
    by_id = {str(item["id"]): item for item in pending}
    if not by_id:
        raise Conflict(
            f"thread {thread_id} has no pending interrupt to resume (status {thread_status}); "
            "command.resume answers an interrupt the thread is waiting on"
        )
    listed = ", ".join(by_id)
    if _is_id_map(resume):
        if not resume:
            raise InvalidInput(f"command.resume is an empty map; name pending interrupts: {listed}")
        if unknown := [key for key in resume if key not in by_id]:
            raise Conflict(
                f"interrupt {', '.join(unknown)} is not pending on thread {thread_id}; pending interrupts: {listed}"
            )
        answers = dict(resume)
    elif len(by_id) == 1:
        answers = {next(iter(by_id)): resume}
    else:
        raise Conflict(
            f"thread {thread_id} has {len(by_id)} pending interrupts; resume with a map from interrupt id to "
            f"answer: {listed}"
        )
    for interrupt_id, answer in answers.items():
        value = by_id[interrupt_id].get("value")
        if is_approval(value) and (problem := decision_problem(answer, value)):
            raise InvalidInput(f"command.resume for interrupt {interrupt_id}: {problem}")
        if is_budget(value) and (problem := budget_answer_problem(answer, value)):
            raise InvalidInput(f"command.resume for budget interrupt {interrupt_id}: {problem}")
    return answers


def _is_id_map(resume: Any) -> bool:
    """As LangGraph decides it: a dict whose keys are all interrupt ids (an empty dict too)."""
    return isinstance(resume, dict) and all(isinstance(k, str) and _INTERRUPT_ID.fullmatch(k) for k in resume)


def _check_goto(goto: Any, graph: Graph) -> None:
    for target in goto if isinstance(goto, list) else [goto]:
        if isinstance(target, str):
            _check_node(target, graph)
            if own := _own_input(target, graph):
                raise InvalidInput(
                    f"command.goto: node {target!r} takes its own input ({', '.join(own)}), not the graph's "
                    f'state: send {{"node": "{target}", "input": {{...}}}}'
                )
        elif isinstance(target, dict) and isinstance(target.get("node"), str) and set(target) <= {"node", "input"}:
            _check_node(target["node"], graph)
            _check_node_input(target["node"], target.get("input"), graph)
        else:
            raise InvalidInput('command.goto takes a node name, {"node": name, "input": {...}}, or a list of them')


def _check_node(name: str, graph: Graph) -> None:
    if name not in graph.nodes or name.startswith("__"):
        valid = ", ".join(n for n in graph.nodes if not n.startswith("__"))
        raise InvalidInput(f"command.goto: graph has no node {name!r} (nodes: {valid})")


def _input_schema(name: str, graph: Graph) -> tuple[Any, Any] | None:
    """(the node's input schema, the graph's state schema), for graphs built with StateGraph."""
    if not isinstance(graph, CompiledStateGraph) or name not in graph.builder.nodes:
        return None
    return graph.builder.nodes[name].input_schema, graph.builder.state_schema


def _own_input(name: str, graph: Graph) -> list[str]:
    """Fields of a node's input that are not in the graph's state: it runs only with a Send's input."""
    schemas = _input_schema(name, graph)
    if schemas is None or schemas[0] is schemas[1]:
        return []
    state = _fields(schemas[1])
    return sorted(field for field in _fields(schemas[0]) if field not in state)


def _fields(schema: Any) -> set[str]:
    """The keys of a TypedDict, dataclass or pydantic state schema."""
    model_fields = getattr(schema, "model_fields", None)
    return set(model_fields) if isinstance(model_fields, dict) else set(getattr(schema, "__annotations__", {}))


def _check_node_input(name: str, value: Any, graph: Graph) -> None:
    schemas = _input_schema(name, graph)
    if schemas is None or not _own_input(name, graph):
        return  # the node reads the graph's state, which LangGraph validates as any update
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(schemas[0])
    except (PydanticSchemaGenerationError, TypeError):
        return
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"command.goto: invalid input for node {name!r}: {wrong}") from None
