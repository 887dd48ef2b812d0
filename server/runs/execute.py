"""Run one claimed run: drive `graph.astream` and turn what it yields into the run's logged SSE events.

SSE event names follow LangGraph Server: `metadata` first, then `<mode>` or `<mode>|<ns>` (with
`stream_subgraphs`), `error` on failure and `end` last. A retried run (attempt > 1) continues from its own
latest checkpoint instead of feeding its input again; a retried resume sends only the answers still awaited.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk
from langgraph._internal._constants import CONFIG_KEY_STRICT_RESUME
from langgraph.checkpoint.base import BaseCheckpointSaver, PendingWrite
from langgraph.pregel._task_status import read_task_statuses
from langgraph.types import Command, Send

from server.auth.identity import User
from server.graph_loading import Graph
from server.observability.run import RunObservation
from server.records import EndStatus, Run, RunKwargs, StartedRun
from server.runs.events import EventLog
from server.runs.pending import pending_interrupts
from server.serialize import dumps, to_json_compatible

DEFAULT_RECURSION_LIMIT = 100
# Not a LangGraph mode: the run is driven through `astream_events` (v2) and each of its events is sent as an
# `events` event, as LangGraph Server does; the root run's own stream chunks still feed the other modes.
EVENTS = "events"
# Stream modes a client may ask for, and the LangGraph mode that produces each.
STREAM_MODES: dict[str, str] = {
    "values": "values",
    "updates": "updates",
    "messages-tuple": "messages",
    "messages": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
    "events": EVENTS,
}


@dataclass(frozen=True)
class Outcome:
    status: EndStatus
    error: str | None = None
    values: Any = None  # the thread's values after the run (JSON-compatible), when known
    interrupts: dict[str, Any] | None = None  # task id -> its pending interrupts


def run_config(run: Run, *, resume_latest: bool) -> dict[str, Any]:
    """The LangGraph config for a run: the caller's config plus thread, checkpoint and run identity."""
    kwargs = run["kwargs"]
    config: dict[str, Any] = json.loads(json.dumps(kwargs.get("config") or {}))
    configurable = config.setdefault("configurable", {})
    configurable["thread_id"] = str(run["thread_id"])
    if isinstance(user := configurable.get("langgraph_auth_user"), dict):  # stored as JSON; graphs read a user
        configurable["langgraph_auth_user"] = User.from_dict(user)
    # A resume map naming an interrupt that is no longer pending fails the run before anything is written,
    # instead of being ignored (the API checked it against the thread when the run was created).
    configurable[CONFIG_KEY_STRICT_RESUME] = True
    checkpoint_id = _pinned_checkpoint(kwargs)
    if checkpoint_id and not resume_latest:
        configurable["checkpoint_id"] = checkpoint_id
        configurable["checkpoint_ns"] = (kwargs.get("checkpoint") or {}).get("checkpoint_ns", "")
    # Copied into every checkpoint's metadata: how a retry finds what its run already did.
    config.setdefault("metadata", {}).update(
        {"run_id": str(run["run_id"]), "graph_id": run["graph_id"], "assistant_id": run["assistant_id"]}
    )
    config["run_id"] = run["run_id"]
    config["run_name"] = run["graph_id"]
    # LangGraph's default of 25 steps is too few for a supervisor loop that ends itself with max_steps.
    config.setdefault("recursion_limit", DEFAULT_RECURSION_LIMIT)
    return config


def _pinned_checkpoint(kwargs: RunKwargs) -> str | None:
    """The checkpoint the run was asked to start from, if any (time travel)."""
    return kwargs.get("checkpoint_id") or (kwargs.get("checkpoint") or {}).get("checkpoint_id") or None


def graph_input(kwargs: RunKwargs) -> Any:
    command = kwargs.get("command")
    if not command:
        return kwargs.get("input")
    goto = command.get("goto")
    if isinstance(goto, dict):
        goto = Send(goto["node"], goto.get("input"))
    elif isinstance(goto, list):
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in goto]
    return Command(resume=command.get("resume"), update=command.get("update"), goto=goto or ())


async def _start(graph: Graph, run: Run) -> tuple[bool, Any]:
    """Where the run starts: `(True, None)` when an earlier attempt of it left a checkpoint (continue from it,
    don't re-send the input), else `(False, its input)`."""
    given = graph_input(run["kwargs"])
    if not isinstance(graph.checkpointer, BaseCheckpointSaver) or run["attempt"] <= 1:
        return False, given
    latest = await graph.checkpointer.aget_tuple({"configurable": {"thread_id": str(run["thread_id"])}})
    if latest is None:
        return False, given
    if latest.metadata.get("run_id") == str(run["run_id"]):
        return True, None
    if _pinned_checkpoint(run["kwargs"]) not in (None, latest.config["configurable"]["checkpoint_id"]):
        # Time travel: an earlier attempt that got anywhere saved its fork, a checkpoint of this run (as above).
        return False, given
    return False, _still_unanswered(given, latest.pending_writes or [])


def _still_unanswered(command: Any, pending_writes: list[PendingWrite]) -> Any:
    """A retried resume without the answers its earlier attempt already gave. That attempt can die after an
    answered task finished (or asked again) but before its step's checkpoint: the answer is in the step's pending
    writes, the interrupt no longer pending, and strict resume would fail the retry for naming it. `None` (go on
    from the checkpoint) when nothing else is left to send."""
    if not isinstance(command, Command) or not isinstance(command.resume, dict):
        return command
    waiting = {i.id for status in read_task_statuses(pending_writes).values() for i in status.pending_interrupts}
    resume = {interrupt_id: answer for interrupt_id, answer in command.resume.items() if interrupt_id in waiting}
    if resume == command.resume:
        return command
    if not resume and not command.update and not command.goto:
        return None
    return Command(resume=resume or None, update=command.update, goto=command.goto)


async def _with_events(
    events: AsyncGenerator[Any, None], run_id: str
) -> AsyncGenerator[tuple[tuple[str, ...], str, Any], None]:
    """What `astream_events` (v2) yields, as `astream(subgraphs=True)` would: the root run's `on_chain_stream`
    chunks are the `(ns, mode, chunk)` triples, and every other event comes as `((), "events", event)`."""
    async with aclosing(events):  # closed with the run, as the graph's own stream is
        async for event in events:
            if "langsmith:hidden" in (event.get("tags") or ()):
                continue
            if event["event"] == "on_chain_stream" and event["run_id"] == run_id:
                ns, mode, chunk = event["data"]["chunk"]
                yield tuple(ns), mode, chunk
            else:
                yield (), EVENTS, event


def _event_name(mode: str, ns: tuple[str, ...], subgraphs: bool) -> str | None:
    """None when the client did not ask for events from inside sub-graphs."""
    if not ns:
        return mode
    if not subgraphs:
        return mode if mode.startswith("messages") else None  # tokens surface even without subgraphs
    return f"{mode}|{'|'.join(ns)}"


class _MessagesAccumulator:
    """For the legacy `messages` mode: whole-message-so-far events keyed by message id."""

    def __init__(self) -> None:
        self._seen: dict[str, BaseMessageChunk] = {}

    def events(self, message: BaseMessage, metadata: dict[str, Any]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        key = message.id or ""
        if isinstance(message, BaseMessageChunk):
            if key not in self._seen:
                out.append(("messages/metadata", {key: {"metadata": metadata}}))
                self._seen[key] = message
            else:
                self._seen[key] = self._seen[key] + message
            out.append(("messages/partial", [self._seen[key]]))
        else:
            out.append(("messages/complete", [message]))
        return out


async def execute(
    graph: Graph,
    run: StartedRun,
    log: EventLog,
    *,
    context: Any,
    observed: RunObservation | None = None,
) -> Outcome:
    kwargs = run["kwargs"]
    requested: list[str] = kwargs.get("stream_mode") or ["values"]
    subgraphs = bool(kwargs.get("stream_subgraphs"))
    observed = observed or RunObservation(run)
    await log.append(
        "metadata",
        dumps(
            {"run_id": str(run["run_id"]), "thread_id": str(run["thread_id"]), "attempt": run["attempt"]}
            | observed.run_metadata()
        ),
    )
    started, graph_in = await _start(graph, run)
    config = observed.configure(run_config(run, resume_latest=started))
    # `values` when only `events` was asked for: the root stream then carries nothing anyone requested.
    lg_modes = sorted({STREAM_MODES[mode] for mode in requested} - {EVENTS}) or ["values"]
    legacy = _MessagesAccumulator()
    options: dict[str, Any] = {
        "context": context,
        "stream_mode": lg_modes,
        "subgraphs": True,
        "interrupt_before": kwargs.get("interrupt_before"),
        "interrupt_after": kwargs.get("interrupt_after"),
        "durability": kwargs.get("durability") or "sync",
    }
    # The options' modes are checked against STREAM_MODES; LangGraph's overloads want them as literals.
    stream: AsyncGenerator[tuple[tuple[str, ...], str, Any], None]
    if EVENTS in requested:
        events = graph.astream_events(graph_in, config, version="v2", **options)  # type: ignore[call-overload]
        stream = _with_events(events, str(run["run_id"]))
    else:
        stream = graph.astream(graph_in, config, **options)  # type: ignore[call-overload]
    this_run = asyncio.current_task()
    async with aclosing(stream):  # raising below must still unwind the graph's loop now, not at garbage collection
        async for ns, mode, chunk in stream:
            if this_run is not None and this_run.cancelling():
                # A cancel or the run's timeout was requested, yet the graph went on: a library lost it (see
                # worker.cancel_and_wait). Honour it at the step's output instead of running the next step.
                raise asyncio.CancelledError
            observed.event_streamed()
            for wanted in requested:
                if STREAM_MODES[wanted] != mode:
                    continue
                name = _event_name("messages" if wanted == "messages-tuple" else wanted, ns, subgraphs)
                if name is None:
                    continue
                if wanted == "messages":
                    for legacy_name, data in legacy.events(chunk[0], chunk[1]):
                        suffix = name.removeprefix("messages")
                        await log.append(legacy_name + suffix, dumps(data))
                else:
                    await log.append(name, dumps(chunk))
    state = await graph.aget_state({"configurable": {"thread_id": str(run["thread_id"])}})
    # Only a run driven by a command (a goto, or a resume of what one started) can leave an unlisted task: a
    # run from plain input, the common case, skips the extra checkpoint read.
    interrupts = await pending_interrupts(graph, state, read_writes=bool(kwargs.get("command")))
    return Outcome(
        "interrupted" if state.next or interrupts else "success",
        values=to_json_compatible(state.values),
        interrupts=interrupts,
    )
