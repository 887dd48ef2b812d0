"""The rubric judge of an attempt's answer. With a configured real model (OPENAI_API_KEY / OPENAI_BASE_URL /
KEEL_MODEL, as server/models/factory.py reads them) an LLM judges the answer against the task's rubric and says why;
with the offline model a deterministic check that the answer states every required fact (`expect.facts`),
case-insensitively, with numbers normalised ("$1,000.00" states "1000")."""

from __future__ import annotations

import re
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from evals.dataset import Task
from evals.evaluators.verdict import Check
from evals.records import Observed
from server.models.factory import OFFLINE, ModelFactory
from server.settings import get_settings

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")  # not inside an id such as inv_acme_2026_11
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


class RubricJudge(Protocol):
    def __call__(self, task: Task, observed: Observed) -> Check: ...


def _number(match: re.Match[str]) -> str:
    value = float(match.group().replace(",", ""))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def normalised(text: str) -> str:
    return _NUMBER.sub(_number, text.translate(_QUOTES).casefold())


def facts_judge(task: Task, observed: Observed) -> Check:
    """The offline judge: every required fact appears in the answer."""
    answer = normalised(observed.answer)
    missing = [fact for fact in task.expect.facts if normalised(fact) not in answer]
    detail = f"the answer does not state: {', '.join(missing)}" if missing else "states every required fact"
    return Check(
        name="rubric", passed=not missing, detail=detail, score=1.0 - len(missing) / max(len(task.expect.facts), 1)
    )


class Grade(BaseModel):
    """The LLM judge's structured answer."""

    score: float = Field(ge=0, le=1, description="0: fails the rubric, 1: meets it fully")
    passed: bool = Field(description="whether the answer meets the rubric")
    reason: str = Field(description="one or two sentences: what meets or misses the rubric")


PROMPT = """You grade a customer-desk assistant's final answer against a reviewer's rubric. Judge only what the
answer says, against the rubric and the facts it must state; tool results are the ground truth. An answer that claims
an action the tools did not take, or states numbers the tools did not return, fails. Reply with the grade tool."""


class LLMJudge:
    """A rubric judge backed by a chat model (the configured one: `configured_judge`)."""

    def __init__(self, model: BaseChatModel) -> None:
        # Function calling: what every OpenAI-compatible server (vLLM, Ollama, llama.cpp) supports, unlike json_schema.
        self.grader = model.with_structured_output(Grade, method="function_calling")
        self.name = f"llm:{getattr(model, 'model_name', None) or type(model).__name__}"

    def __call__(self, task: Task, observed: Observed) -> Check:
        results = "\n".join(f"- {c.name}({c.args}) -> {(c.result or '')[:800]}" for c in observed.tool_calls)
        question = (
            f"Request(s):\n{chr(10).join(task.messages)}\n\nRubric: {task.rubric}\n"
            f"Facts it must state: {', '.join(task.expect.facts) or 'none listed'}\n\n"
            f"Tool calls and results:\n{results or '(none)'}\n\nFinal answer:\n{observed.answer}"
        )
        try:
            grade = self.grader.invoke([SystemMessage(PROMPT), HumanMessage(question)])
        except Exception as exc:  # a judge that cannot answer fails the check, with why, rather than the report
            return Check(name="rubric", passed=False, detail=f"the judge failed: {exc}")
        assert isinstance(grade, Grade)
        return Check(name="rubric", passed=grade.passed, detail=grade.reason, score=grade.score)


def configured_judge() -> RubricJudge:
    """The LLM judge when keel is configured with a real model (its synthesis role's), else the facts check."""
    factory = ModelFactory(get_settings().model)
    if factory.name_for("synthesis") == OFFLINE:
        return facts_judge
    return LLMJudge(factory.chat("synthesis"))
