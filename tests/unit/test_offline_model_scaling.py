"""The offline model reads untrusted text, and its regexes hold the GIL: every input shape must cost time linear
in its size. Each shape an attacker (or an unlucky paste) could send is timed at n and at 8n characters;
linear work grows ~8 times, quadratic work 64 times. The check compares the two sizes on the same machine
within a second, takes the fastest of several repeats of each, counts this thread's CPU time rather than the wall
clock (a busy machine descheduling the test does not count), and allows a factor of 24, so it tells the two growth
rates apart without asserting any speed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from server.models.offline_rules import Conversation, answer, decide_calls
from tools import TOOLS
from tools.spec import as_langchain_tool

SMALL, FACTOR, ALLOWED_GROWTH, REPEATS = 1000, 8, 24, 5
TOOLS_BOUND = [convert_to_openai_tool(as_langchain_tool(t)) for t in TOOLS.values()]


def _text(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _asked(unit: str) -> Callable[[int], list[BaseMessage]]:
    return lambda n: [HumanMessage(_text(unit)(n))]


def _directed(unit: str) -> Callable[[int], list[BaseMessage]]:
    """The shape in a system message, where the model reads `(keywords: …)` and `(default)` directives."""
    return lambda n: [SystemMessage(_text(unit)(n)), HumanMessage("hello")]


def _tool_result(unit: str) -> Callable[[int], list[BaseMessage]]:
    call = {"name": "search_docs", "args": {"query": "x"}, "id": "c1", "type": "tool_call"}
    return lambda n: [
        HumanMessage("search the docs"),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(_text(unit)(n), tool_call_id="c1", name="search_docs"),
    ]


def _failed_names(n: int) -> list[BaseMessage]:
    """A request naming many workspaces, each call already made and failed: the retry compares argument sets."""
    names = [f"w{i}" for i in range(n // 6)]
    calls = [
        {"name": "create_workspace", "args": {"name": name}, "id": f"c{i}", "type": "tool_call"}
        for i, name in enumerate(names)
    ]
    failures = [
        ToolMessage("Error: no", tool_call_id=f"c{i}", name="create_workspace", status="error")
        for i in range(len(names))
    ]
    request = "create workspace " + " ".join(f'"{name}"' for name in names)
    return [HumanMessage(request), AIMessage(content="", tool_calls=calls), *failures]


SHAPES: dict[str, Callable[[int], list[BaseMessage]]] = {
    "prose": _asked("Refund $12.50 on inv_acme_2026_10 for cus_acme, email a@b.io; 25 seats. "),
    "one long word": _asked("a"),
    "digits": _asked("1"),
    "decimals": _asked("1."),
    "dollar signs": _asked("$"),
    "dollar digits": _asked("$1"),
    "straight quotes": _asked('"'),
    "curly opening quotes": _asked("\u201c"),
    "single quotes": _asked("'"),
    "spaced single quotes": _asked(" '"),
    "apostrophes": _asked("a'"),
    "curly single opening quotes": _asked("\u2018"),
    "capitalised words": _asked("Ab "),
    "capitalised letters": _asked("A"),
    "parentheses": _asked("("),
    "arithmetic without an end": _asked("1 + ("),
    "assignment chains": _asked("a="),
    "unclosed quoted assignments": _asked('a="'),
    "address-like": _asked("a@b"),
    "address-like dots": _asked("a.b@c"),
    "whitespace after a digit": lambda n: [HumanMessage("1" + " " * n)],
    "id prefix and underscores": lambda n: [HumanMessage("cus_" + "_" * n)],
    "blank lines": _asked("\n"),
    "blank directive lines": _directed("\n"),
    "unclosed keyword lists": _directed("- a: (keywords: x\n"),
    "keyword markers on one line": _directed("(keywords:"),
    "dashes and colons": _directed("-a:\n"),
    "long tool result": _tool_result("1"),
    "many failed calls": _failed_names,
}


def _fastest(messages: list[BaseMessage]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.thread_time()
        conv = Conversation(messages)
        if not decide_calls(TOOLS_BOUND, None, conv, salt=len(messages)):
            answer(TOOLS_BOUND, conv)
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.parametrize("shape", SHAPES)
def test_reading_any_shape_grows_linearly_with_its_size(shape: str) -> None:
    small, large = SHAPES[shape](SMALL), SHAPES[shape](SMALL * FACTOR)
    _fastest(small)  # warm-up: first-use costs (regex compilation, imports) belong to neither size
    growth = _fastest(large) / _fastest(small)
    assert growth < ALLOWED_GROWTH, f"{shape}: {FACTOR} times the input took {growth:.0f} times as long"
