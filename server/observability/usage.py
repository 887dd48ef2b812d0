"""Token usage and cost of one run, collected from LLM callbacks and priced with `KEEL_PRICES`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from server.observability import metrics
from server.settings import ModelPrice


@dataclass
class ModelUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    def cost(self, price: ModelPrice | None) -> float:
        if price is None:
            return 0.0
        return (self.input_tokens * price.input + self.output_tokens * price.output) / 1_000_000


def _model_name(message: BaseMessage, response: LLMResult) -> str:
    name = message.response_metadata.get("model_name") or message.response_metadata.get("model")
    if not name and response.llm_output:
        name = response.llm_output.get("model_name") or response.llm_output.get("model")
    return str(name or "unknown")


class UsageCollector(BaseCallbackHandler):
    """Sums `usage_metadata` of every chat model call in a run, by model; counts tokens and cost live."""

    run_inline = True  # plain dict updates: no need for a thread hop per callback

    def __init__(self, prices: Mapping[str, ModelPrice]) -> None:
        self.prices = prices
        self.by_model: dict[str, ModelUsage] = {}
        self.model_calls = 0  # what budgets count (server/runs/budget.py), with tool_calls
        self.tool_calls = 0
        self._lock = threading.Lock()  # sync callbacks of parallel branches may run on executor threads

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:  # noqa: ARG002 -- LangChain's signature
        self._count_call(response)
        for generations in response.generations:
            for generation in generations:
                if not isinstance(generation, ChatGeneration):
                    continue
                usage = getattr(generation.message, "usage_metadata", None)
                if not usage:
                    continue
                self.add(_model_name(generation.message, response), usage["input_tokens"], usage["output_tokens"])

    def _count_call(self, response: LLMResult) -> None:
        message = next((g.message for gs in response.generations for g in gs if isinstance(g, ChatGeneration)), None)
        model = _model_name(message, response) if message is not None else "unknown"
        with self._lock:
            self.model_calls += 1
        metrics.LLM_CALLS.labels(model=model).inc()

    def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, **kwargs: Any) -> None:  # noqa: ARG002
        with self._lock:
            self.tool_calls += 1

    def add(self, model: str, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            entry = self.by_model.setdefault(model, ModelUsage())
            entry.input_tokens += input_tokens
            entry.output_tokens += output_tokens
        metrics.LLM_TOKENS.labels(model=model, kind="input").inc(input_tokens)
        metrics.LLM_TOKENS.labels(model=model, kind="output").inc(output_tokens)
        price = self.prices.get(model)
        if price is not None:
            metrics.LLM_COST.labels(model=model).inc(ModelUsage(input_tokens, output_tokens).cost(price))

    def summary(self) -> dict[str, Any]:
        """What `keel.runs.usage` holds: totals, and tokens and cost per model."""
        with self._lock:
            models = {
                name: {
                    "input_tokens": used.input_tokens,
                    "output_tokens": used.output_tokens,
                    "total_tokens": used.input_tokens + used.output_tokens,
                    "cost": round(used.cost(self.prices.get(name)), 8),
                }
                for name, used in sorted(self.by_model.items())
            }
        return {
            "input_tokens": sum(m["input_tokens"] for m in models.values()),
            "output_tokens": sum(m["output_tokens"] for m in models.values()),
            "total_tokens": sum(m["total_tokens"] for m in models.values()),
            "cost": round(sum(m["cost"] for m in models.values()), 8),
            "model_calls": self.model_calls,
            "tool_calls": self.tool_calls,
            "models": models,
        }
