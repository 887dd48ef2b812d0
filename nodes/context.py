"""What keel's graphs receive at run time through LangGraph's `Runtime[Context]`: the desk database
and the chat models, built by the server. Nodes never read the environment or open pools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel

from tools.limits import Limits

if TYPE_CHECKING:
    from nodes.budget import BudgetMeter
    from nodes.faults import ToolFaults

# router: cheap classification/delegation; worker: tool-using agents; synthesis: final answers.
Role = Literal["router", "worker", "synthesis"]


class ModelProvider(Protocol):
    def chat(self, role: Role) -> BaseChatModel: ...


@dataclass(frozen=True, kw_only=True)
class Context:
    db: Any  # psycopg AsyncConnectionPool over the database holding the `desk` schema
    models: ModelProvider
    max_steps: int = 12  # supervisor/agent loop limit; the run ends with an explanation past it
    # No-progress detection (nodes/progress.py): times one tool may be asked for with the same arguments in a
    # request, and tool-calling turns in a row without a new result, before the agent stops and explains.
    max_repeated_calls: int = 3
    max_idle_turns: int = 3
    # The deployment's amounts for tools (KEEL_TWO_PERSON_REFUND_USD), from the server's settings; never a run's.
    limits: Limits = field(default_factory=Limits)
    budget: BudgetMeter | None = None  # the run's spend limits (nodes/budget.py); None: no budget
    # Injected tool failures for chaos evals (KEEL_TOOL_FAULTS, nodes/faults.py), from the server's settings; never a
    # run's. None: no tool fails on purpose.
    faults: ToolFaults | None = None
