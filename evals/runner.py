"""Drives desk tasks through keel's HTTP API with the official client (`langgraph_sdk`) and records what it saw of
each attempt as an `Observed` (evals/records.py).

One attempt: a new thread (on an assistant of its own when the task has `assistant`); each user message is a run,
streamed with `stream_mode=["updates", "events"]` and `stream_subgraphs=True`, so the worker sub-graphs' tool calls
show up as steps; while the thread waits on an interrupt (an approval or a budget pause) the task's next decision
is sent as a run of its own (`command={"resume": ...}`), until the thread is idle or the script has no decision
left.

Guardrails seen acting come from one source: the `keel_guardrail` custom events (nodes/guardrails.py) in the
`events` stream, the same occurrences keel counts in `keel_guardrail_events_total`.

Desk isolation: two attempts that share a customer never run at once, and each starts from the seed for its
customers (evals/desk.py); a task that names no customer runs alone, on the whole desk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIConnectionError, APIStatusError
from langgraph_sdk.schema import RunCreateMetadata, StreamMode, StreamPart

from evals import checkpointed, desk
from evals.dataset import Task
from evals.records import Approval, Observed, RunSeen, Step, ToolCallSeen
from nodes.guardrails import EVENT

T = TypeVar("T")
STREAM_MODE: list[StreamMode] = ["updates", "events"]


@dataclass
class Options:
    url: str
    database_url: str | None  # None: desk effects not measured (and not reset)
    concurrency: int = 4
    repeat: int = 1
    task_timeout_s: float = 300.0
    chaos: str | None = None


@dataclass
class _Attempt:
    task: Task
    repeat: int
    started: float = 0.0
    run_ids: list[str] = field(default_factory=list)


class CustomerLocks:
    """Hands out attempts whose customers no running attempt holds; an attempt with no customers holds all."""

    def __init__(self, everyone: Sequence[str]) -> None:
        self.everyone = list(everyone)
        self.busy: set[str] = set()
        self.alone = False
        self.changed = asyncio.Condition()

    def customers(self, task: Task) -> list[str]:
        return list(task.customers) or self.everyone

    def _free(self, task: Task) -> bool:
        if self.alone:
            return False
        if not task.customers:
            return not self.busy
        return not self.busy.intersection(task.customers)

    async def take(self, pending: list[_Attempt]) -> _Attempt | None:
        """The first pending attempt that can run now (waits until one can); None when none is left."""
        async with self.changed:
            while pending:
                for n, attempt in enumerate(pending):
                    if self._free(attempt.task):
                        del pending[n]
                        self.alone = not attempt.task.customers
                        self.busy.update(attempt.task.customers)
                        return attempt
                await self.changed.wait()
            return None

    async def give_back(self, task: Task) -> None:
        async with self.changed:
            self.busy.difference_update(task.customers)
            self.alone = False if not task.customers else self.alone
            self.changed.notify_all()


READ_RETRY_S = 90.0  # a chaos phase restarts PostgreSQL: keel answers 5xx ("retry in a few seconds") meanwhile


async def _read(call: Callable[[], Awaitable[T]]) -> T:
    """`call` (a request that changes nothing, or whose repeat is harmless), tried again on 5xx and lost connections
    while PostgreSQL restarts. Run creates are not sent through here (see `_stream_run`)."""
    deadline = time.monotonic() + READ_RETRY_S
    while True:
        try:
            return await call()
        except (APIStatusError, APIConnectionError, httpx.TransportError) as exc:
            retryable = not isinstance(exc, APIStatusError) or exc.status_code >= 500
            if not retryable or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "")


def _namespace(event: str) -> list[str]:
    """`updates|billing:<id>|...` → ["billing:<id>", ...]."""
    return event.split("|")[1:]


class _Recorder:
    """Everything one attempt streamed, turned into steps, tool calls and guardrails as it arrives."""

    def __init__(self, observed: Observed) -> None:
        self.observed = observed
        self.calls: dict[str, ToolCallSeen] = {call.call_id: call for call in observed.tool_calls}

    def update(self, run_id: str, namespace: list[str], data: Any) -> None:
        if not isinstance(data, dict):
            return
        for node, value in data.items():
            if node == "__interrupt__":
                interrupts = value if isinstance(value, list) else [value]
                self.observed.steps.append(Step(run_id=run_id, node=node, namespace=namespace, interrupts=interrupts))
                continue
            messages: list[dict[str, Any]] = []
            for item in value if isinstance(value, list) else [value]:
                found = item.get("messages") if isinstance(item, dict) else None
                if isinstance(found, dict):
                    found = [found]
                messages.extend(m for m in found or [] if isinstance(m, dict))
            self.observed.steps.append(Step(run_id=run_id, node=node, namespace=namespace, messages=messages))
            agent = namespace[-1].split(":")[0] if namespace else node
            for message in messages:
                self.message(agent, message)

    def message(self, agent: str, message: dict[str, Any]) -> None:
        """A message the graph wrote: the tool calls it proposes, or the result of one already seen."""
        for call in message.get("tool_calls") or []:
            call_id = str(call.get("id"))
            if call_id not in self.calls:
                seen = ToolCallSeen(agent=agent, name=call["name"], args=call.get("args") or {}, call_id=call_id)
                self.calls[call_id] = seen
                self.observed.tool_calls.append(seen)
        result = self.calls.get(str(message.get("tool_call_id")))
        if message.get("type") == "tool" and result is not None:
            seen = result
            seen.ok = message.get("status") != "error"
            seen.result = _text(message.get("content"))

    def event(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("event") == "on_custom_event" and data.get("name") == EVENT:
            name = (data.get("data") or {}).get("guardrail")
            if name and name not in self.observed.guardrails:
                self.observed.guardrails.append(name)


async def _stream_run(
    client: LangGraphClient, thread_id: str, assistant_id: str, recorder: _Recorder, **request: Any
) -> None:
    started = time.monotonic()
    first: float | None = None
    run_id = ""
    last_event: str | None = None

    def created(run: RunCreateMetadata) -> None:  # as soon as the create is answered (its Content-Location)
        nonlocal run_id
        run_id = run_id or str(run["run_id"])

    def create() -> AsyncIterator[StreamPart]:
        return client.runs.stream(
            thread_id, assistant_id, stream_mode=STREAM_MODE, stream_subgraphs=True, on_run_created=created, **request
        )

    parts = create()
    while True:
        ended = False
        try:
            async for part in parts:
                last_event = part.id or last_event
                if first is None and part.event != "metadata":
                    first = time.monotonic() - started
                if part.event == "metadata" and isinstance(part.data, dict):
                    run_id = str(part.data.get("run_id", run_id))
                elif part.event.startswith("updates"):
                    recorder.update(run_id, _namespace(part.event), part.data)
                elif part.event.startswith("events"):
                    recorder.event(part.data)
                elif part.event == "error":
                    raise RuntimeError(f"run {run_id} streamed an error: {part.data}")
                ended = part.event == "end"
            if ended:
                break
            # Closed without `end` (the database was away longer than keel keeps a stream open, and the run ended
            # meanwhile, so langgraph-sdk did not reconnect): the rest is in the run's log.
            if not run_id or time.monotonic() - started > READ_RETRY_S:
                raise RuntimeError(f"the stream of run {run_id or '(unknown)'} closed without `end`")
        except (APIStatusError, APIConnectionError, httpx.TransportError) as exc:
            # The stream broke (PostgreSQL restarting under the API). Rejoin the run after the last event seen (keel
            # replays its event log from there). If the create itself failed, the thread's run list tells whether
            # the run exists (rejoin it) or not (create it again): never two runs for one request.
            server_side = not isinstance(exc, APIStatusError) or exc.status_code >= 500
            if not server_side or time.monotonic() - started > READ_RETRY_S:
                raise
        await asyncio.sleep(0.5)
        if not run_id:
            seen = {run.run_id for run in recorder.observed.runs}
            runs = await _read(lambda: client.runs.list(thread_id, limit=100))
            run_id = next((str(r["run_id"]) for r in runs if str(r["run_id"]) not in seen), "")
        if run_id:
            parts = client.runs.join_stream(thread_id, run_id, stream_mode=STREAM_MODE, last_event_id=last_event)
        else:
            parts = create()
    latency = time.monotonic() - started
    run: dict[str, Any] = dict(await _read(lambda: client.runs.get(thread_id, run_id)))
    metadata = run.get("metadata") or {}
    recorder.observed.runs.append(
        RunSeen(
            run_id=run_id,
            thread_id=thread_id,
            status=run["status"],
            usage=dict(run.get("usage") or {}),
            trace_url=metadata.get("trace_url"),
            latency_s=round(latency, 3),
            first_event_s=round(first, 3) if first is not None else None,
        )
    )


def record_messages(observed: Observed, messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """(agent, message) pairs taken as the stream's would be: calls not seen yet are added, results filled in."""
    recorder = _Recorder(observed)
    for agent, message in messages:
        recorder.message(agent, message)


def _pending(state: dict[str, Any]) -> list[dict[str, Any]]:
    interrupts = list(state.get("interrupts") or [])
    if not interrupts:
        for task in state.get("tasks") or []:
            interrupts.extend(task.get("interrupts") or [])
    return [i for i in interrupts if isinstance(i, dict)]


async def attempt(client: LangGraphClient, task: Task, observed: Observed) -> None:
    """Drive one attempt of `task` to its end, recording into `observed` as it goes (so a failed attempt keeps what
    it saw); the desk is measured by the caller."""
    repeat = observed.repeat
    recorder = _Recorder(observed)
    assistant_id: str = task.graph
    if task.assistant is not None:
        created = await _read(lambda: client.assistants.create(task.graph, **(task.assistant or {})))
        assistant_id = created["assistant_id"]
    thread = await _read(lambda: client.threads.create(metadata={"eval_task": task.id, "eval_repeat": repeat}))
    observed.thread_id = thread_id = thread["thread_id"]
    decisions = list(task.decisions)
    for text in task.messages:
        request: dict[str, Any] = {"input": {"messages": [{"role": "human", "content": text}]}}
        while True:
            await _stream_run(client, thread_id, assistant_id, recorder, **request)
            pending = _pending(dict(await _read(lambda: client.threads.get_state(thread_id))))
            if not pending:
                break
            interrupt = pending[0]
            answer = decisions.pop(0) if decisions else None
            observed.approvals.append(
                Approval(interrupt_id=str(interrupt.get("id")), value=interrupt.get("value") or {}, answer=answer)
            )
            if answer is None:  # the script has no decision left: the task ends waiting, as a person walked away
                break
            resume = answer if len(pending) == 1 else {interrupt["id"]: answer}
            request = {"command": {"resume": resume}}
        if observed.approvals and observed.approvals[-1].answer is None:
            break
    state = await _read(lambda: client.threads.get_state(thread_id))
    values = state.get("values") or {}
    messages = values.get("messages", []) if isinstance(values, dict) else []
    observed.messages = [m for m in messages if isinstance(m, dict)]
    ai = [m for m in observed.messages if m.get("type") == "ai" and _text(m.get("content")).strip()]
    observed.answer = _text(ai[-1]["content"]) if ai else ""


async def run_all(
    tasks: Sequence[Task],
    options: Options,
    on_done: Callable[[Observed], Awaitable[None]] | None = None,
) -> list[Observed]:
    """Every task `options.repeat` times, `options.concurrency` at once, desk-isolated; in task order."""
    url = options.database_url
    everyone = await asyncio.to_thread(desk.seed_customers, url) if url else []
    locks = CustomerLocks(everyone)
    pending = [_Attempt(task, k) for k in range(options.repeat) for task in tasks]
    done: list[Observed] = []

    async def one(client: LangGraphClient, item: _Attempt) -> Observed:
        customers = locks.customers(item.task)
        if url:
            await asyncio.to_thread(desk.reset, url, customers)
        started = time.monotonic()
        observed = Observed(task_id=item.task.id, repeat=item.repeat, chaos=options.chaos, thread_id="")
        try:
            await asyncio.wait_for(attempt(client, item.task, observed), timeout=options.task_timeout_s)
        except Exception as exc:  # a task that broke is a result to report, not a crash of the suite
            observed.error = f"{type(exc).__name__}: {exc}"[:2000]
        observed.latency_s = round(time.monotonic() - started, 3)
        if url:
            observed.effects = await asyncio.to_thread(desk.effects, url, customers)
            if observed.thread_id:  # calls the stream missed (a worker killed before storing their events)
                record_messages(observed, await asyncio.to_thread(checkpointed.messages, url, observed.thread_id))
            writes = [(c.name, c.call_id) for c in observed.tool_calls if c.ok]
            observed.duplicated_effects = desk.duplicated(observed.effects, writes)
        return observed

    async def lane() -> None:
        async with get_client(url=options.url, timeout=options.task_timeout_s) as client:
            while (item := await locks.take(pending)) is not None:
                try:
                    observed = await one(client, item)
                finally:
                    await locks.give_back(item.task)
                done.append(observed)
                if on_done is not None:
                    await on_done(observed)

    await asyncio.gather(*(lane() for _ in range(max(1, options.concurrency))))
    order = {(t.id, k): n for n, (k, t) in enumerate((k, t) for k in range(options.repeat) for t in tasks)}
    return sorted(done, key=lambda o: order[(o.task_id, o.repeat)])
