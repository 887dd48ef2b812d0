"""7. The offline model answering a 1 MB message, in-process: every tool keel ships bound, the reply both
returned whole (`invoke`) and streamed (`stream`, as LangGraph's `messages` mode asks for it). The messages are
prose and the shapes that once cost quadratic time (a regex backtracking over a long run while holding the
GIL); `tests/unit/test_offline_model_scaling.py` checks the growth rate, this measures the time."""

from __future__ import annotations

import statistics
import time
from typing import Any

from langchain_core.messages import HumanMessage

from server.models.offline import OfflineChatModel
from tools import TOOLS
from tools.spec import as_langchain_tool

SIZE = 1_000_000
UNITS = {
    "prose": "Refund $12.50 on inv_acme_2026_10 for cus_acme, email a@b.io; 25 seats. ",
    "one long word": "a",
    "digits": "1",
    "dollar digits": "$1",
    "straight quotes": '"',
    "curly opening quotes": "\u201c",
    "parentheses": "(",
    "unclosed quoted assignments": 'a="',
    "address-like": "a.b@c",
    "blank lines": "\n",
}


def _message(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def measure(*, repeats: int) -> dict[str, Any]:
    model = OfflineChatModel().bind_tools([as_langchain_tool(t) for t in TOOLS.values()])
    shapes: dict[str, Any] = {}
    for name, unit in UNITS.items():
        messages = [HumanMessage(_message(unit))]
        whole, streamed = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            model.invoke(messages)
            whole.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            for _chunk in model.stream(messages):
                pass
            streamed.append((time.perf_counter() - started) * 1000)
        shapes[name] = {
            "invoke_ms": round(statistics.median(whole), 1),
            "stream_ms": round(statistics.median(streamed), 1),
            "n": repeats,
        }
    worst = max(shapes, key=lambda s: max(shapes[s]["invoke_ms"], shapes[s]["stream_ms"]))
    return {
        "message_bytes": SIZE,
        "shapes": shapes,
        "worst_shape": worst,
        "worst_ms": max(shapes[worst]["invoke_ms"], shapes[worst]["stream_ms"]),
    }
