"""What keel's graphs receive at run time through LangGraph's `Runtime[Context]`: the desk database
and the chat models, built by the server. Nodes never read the environment or open pools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel

if TYPE_CHECKING:
    from nodes.budget import BudgetMeter

# router: cheap classification/delegation; worker: tool-using agents; synthesis: final answers.
Role = Literal["router", "worker", "synthesis"]


class ModelProvider(Protocol):
    def chat(self, role: Role) -> BaseChatModel: ...


@dataclass(frozen=True, kw_only=True)
class Context:
    db: Any  # psycopg AsyncConnectionPool over the database holding the `desk` schema
    models: ModelProvider
    max_steps: int = 12  # supervisor/agent loop limit; the run ends with an explanation past it
    budget: BudgetMeter | None = None  # the run's spend limits (nodes/budget.py); None: no budget
