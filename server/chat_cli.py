"""`keel chat [GRAPH] [--url URL] [--thread ID]`: a terminal client over keel's HTTP API (the official
langgraph_sdk), needing no database.

It streams each run's tokens, asks a person for each approval the run stops at, resumes the run with the
answer, and keeps one thread, whose id it prints first so that `--thread` can continue it. Ctrl-C or EOF end
it cleanly: a run still going is cancelled if the person says so (or with --cancel-on-exit), else it goes on.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

import httpx
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.schema import Command

from server.chat_approvals import Ask, resume_map
from server.chat_render import StreamPrinter

INTERRUPTED = 130  # the shell's code for a program ended by Ctrl-C
DEFAULT_URL = "http://127.0.0.1:8000"


def add_parser(commands: Any) -> None:
    chat = commands.add_parser("chat", help="chat with a graph of a running keel in this terminal")
    chat.add_argument("graph", nargs="?", help="graph or assistant id (default: the thread's, or the only graph)")
    chat.add_argument("--url", default=DEFAULT_URL, help=f"keel's URL (default: {DEFAULT_URL})")
    chat.add_argument("--thread", help="continue this thread (default: a new one)")
    chat.add_argument("--api-key", help="API key sent as x-api-key (default: KEEL_API_KEY)")
    chat.add_argument("--cancel-on-exit", action="store_true", help="cancel a running run on Ctrl-C without asking")


class ChatError(Exception):
    """A failure the person can fix (no such thread, no graph named); `str()` is the line to print."""


def run(args: argparse.Namespace, *, out: TextIO = sys.stdout, ask: Ask = input) -> int:
    api_key = args.api_key or os.environ.get("KEEL_API_KEY") or None
    # None, not unset: the SDK would otherwise send a LangSmith key from the environment to keel.
    # No read timeout: a run may think (or wait on a slow tool) longer than any fixed bound.
    client = get_sync_client(url=args.url, api_key=api_key, timeout=(30.0, None, 30.0, 30.0))
    session = Chat(client, out, ask, cancel_on_exit=args.cancel_on_exit, url=args.url)
    try:
        session.open(args.graph, args.thread)
        return session.loop()
    except (KeyboardInterrupt, EOFError) as exc:
        session.leave()
        return INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 0
    except ChatError as exc:
        sys.stderr.write(f"keel chat: {exc}\n")
        return 2
    except httpx.HTTPStatusError as exc:
        sys.stderr.write(f"keel chat: {exc.response.status_code} from keel: {detail(exc)}\n")
        return 1
    except httpx.HTTPError as exc:
        sys.stderr.write(f"keel chat: cannot reach keel at {args.url}: {exc or type(exc).__name__}\n")
        return 1
    finally:
        client.close()


def detail(exc: httpx.HTTPStatusError) -> str:
    """keel's `{"detail": …}`, wherever the SDK left the body."""
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        try:
            body = exc.response.json()
        except (ValueError, httpx.ResponseNotRead):
            body = None
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(exc)


class Chat:
    def __init__(
        self, client: SyncLangGraphClient, out: TextIO, ask: Ask, *, cancel_on_exit: bool, url: str = DEFAULT_URL
    ) -> None:
        self.client = client
        self.url = url
        self.out = out
        self.ask = ask
        self.cancel_on_exit = cancel_on_exit
        self.graph = ""
        self.thread_id = ""
        self.running: str | None = None  # the run being streamed, to cancel on the way out

    @property
    def again(self) -> str:
        """The command that continues this thread."""
        url = "" if self.url == DEFAULT_URL else f" --url {self.url}"
        return f"keel chat --thread {self.thread_id}{url}"

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def open(self, graph: str | None, thread_id: str | None) -> None:
        if thread_id:
            try:
                thread = self.client.threads.get(thread_id)
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code == 404:
                    raise ChatError(f"no thread {thread_id}") from None
                raise
            metadata = thread.get("metadata") or {}
            self.graph = graph or str(metadata.get("assistant_id") or metadata.get("graph_id") or "") or self.only()
            self.thread_id = str(thread["thread_id"])
            self.say(f"thread {self.thread_id} ({self.graph}), continued")
            return
        self.graph = graph or self.only()
        self.thread_id = str(self.client.threads.create(graph_id=self.graph)["thread_id"])
        self.say(f"thread {self.thread_id} ({self.graph}); continue it with: {self.again}")

    def only(self) -> str:
        graphs = sorted({str(a["graph_id"]) for a in self.client.assistants.search(limit=100)})
        if len(graphs) == 1:
            return graphs[0]
        raise ChatError(f"name a graph: {', '.join(graphs) or 'keel serves none'}")

    def loop(self) -> int:
        self.say("Ctrl-D or Ctrl-C to leave.")
        while True:
            pending = self.client.threads.get_state(self.thread_id).get("interrupts") or []
            if pending:
                command: Command = {"resume": resume_map([dict(i) for i in pending], self.ask, self.out)}
                if self.stream(command=command) == 403:  # asking again would be refused again
                    self.say(f"someone who may decide can answer it: {self.again}")
                    return 1
                continue
            text = self.ask("you> ").strip()
            if text:
                self.stream(input={"messages": [{"role": "human", "content": text}]})

    def stream(self, **request: Any) -> int | None:
        """Stream one run; the status keel refused it with, if it did."""
        printer = StreamPrinter(self.out)

        def created(meta: Any) -> None:
            self.running = str(meta["run_id"])

        try:
            for part in self.client.runs.stream(
                self.thread_id, self.graph, stream_mode="messages", on_run_created=created, **request
            ):
                printer.part(part.event, part.data)
        except httpx.HTTPStatusError as exc:
            # Refused (a decision keel finds invalid, a caller who may not decide): say why; an approval
            # still pending is asked again.
            printer.end()
            self.running = None
            self.say(f"keel: {exc.response.status_code}: {detail(exc)}")
            return exc.response.status_code
        printer.end()
        self.running = None
        return None

    def leave(self) -> None:
        """Ctrl-C or EOF: end the line, and cancel a run still going if asked to."""
        self.say("")
        if self.running is None:
            return
        run_id, self.running = self.running, None
        if not self.cancel_on_exit:
            try:
                typed = self.ask(f"cancel run {run_id}? [y/N] ").strip().lower()
            except (KeyboardInterrupt, EOFError):
                typed = ""
                self.say("")
            if not typed.startswith("y"):
                self.say(f"run {run_id} goes on; continue with: {self.again}")
                return
        try:
            self.client.runs.cancel(self.thread_id, run_id, action="interrupt")
        except (httpx.HTTPError, KeyboardInterrupt) as exc:  # a second Ctrl-C gives up on it, quietly too
            self.say(f"could not cancel run {run_id}: {exc or 'stopped'}")
            return
        self.say(f"run {run_id} cancelled")
