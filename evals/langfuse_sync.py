"""With Langfuse configured (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL, as keel's tracing reads
them), the task suite is a Langfuse dataset (`keel-desk`, one item per task, its id the task id, so posting again
updates it) and each attempt's scores are posted on the attempt's traces with the SDK:

- `eval.passed` (boolean), on every run's trace of the attempt;
- `eval.<check>` (boolean, with the reason as comment) for each check; `eval.rubric` is the judge's score (0..1);
- metadata: task, category, repeat, chaos, and where the attempt first went wrong.

Attempts without a trace (keel ran without Langfuse) get no scores. Langfuse being down never fails a report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from langfuse import Langfuse
from opentelemetry.sdk.trace import TracerProvider

from evals.dataset import Task
from evals.evaluators.verdict import Verdict
from evals.records import Observed
from server.settings import LangfuseSettings, get_settings

DATASET = "keel-desk"
log = logging.getLogger(__name__)


def trace_id_of(url: str | None) -> str | None:
    """The trace id at the end of a keel trace link (`<ui>/trace/<id>`)."""
    if not url:
        return None
    parts = urlsplit(url).path.rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "trace" else None


def client(settings: LangfuseSettings) -> Langfuse:
    assert settings.secret_key is not None
    return Langfuse(
        public_key=settings.public_key,
        secret_key=settings.secret_key.get_secret_value(),
        base_url=settings.base_url,
        # Scores need tracing on (the SDK drops them otherwise); a provider of its own keeps the global one untouched.
        tracer_provider=TracerProvider(shutdown_on_exit=False),
    )


def post_if_configured(tasks: Sequence[Task], judged: Sequence[tuple[Task, Observed, Verdict]]) -> bool:
    """Post the dataset and the scores when Langfuse is configured; True when it was (and did not fail)."""
    settings = get_settings().langfuse
    if not settings.enabled:
        return False
    langfuse = client(settings)
    try:
        post(langfuse, tasks, judged)
    except Exception:  # a report must not fail because Langfuse is away: say so, keep the local files
        log.exception("posting the eval dataset and scores to Langfuse failed")
        return False
    finally:
        langfuse.shutdown()  # flushes the score queue
    return True


def post(langfuse: Langfuse, tasks: Sequence[Task], judged: Sequence[tuple[Task, Observed, Verdict]]) -> None:
    langfuse.create_dataset(name=DATASET, description="keel's desk task suite (evals/datasets)")
    for task in tasks:
        langfuse.create_dataset_item(
            dataset_name=DATASET,
            id=task.id,
            input={"graph": task.graph, "messages": task.messages, "decisions": task.decisions},
            expected_output={"expect": task.expect.model_dump(), "rubric": task.rubric},
            metadata={"category": task.category, "tags": task.tags},
        )
    for task, seen, verdict in judged:
        metadata = _metadata(task, seen, verdict)
        for trace_id in dict.fromkeys(filter(None, (trace_id_of(run.trace_url) for run in seen.runs))):
            langfuse.create_score(
                name="eval.passed",
                value=float(verdict.passed),
                data_type="BOOLEAN",
                trace_id=trace_id,
                metadata=metadata,
            )
            for check in verdict.checks:
                # The rubric judge's score says more than pass or fail.
                kind: Literal["NUMERIC", "BOOLEAN"] = "NUMERIC" if check.score is not None else "BOOLEAN"
                value = check.score if check.score is not None else float(check.passed)
                langfuse.create_score(
                    name=f"eval.{check.name}",
                    value=value,
                    data_type=kind,
                    trace_id=trace_id,
                    comment=check.detail or None,
                    metadata=metadata,
                )
    langfuse.flush()


def _metadata(task: Task, seen: Observed, verdict: Verdict) -> dict[str, Any]:
    failure = verdict.failure
    return {
        "dataset": DATASET,
        "task_id": task.id,
        "category": task.category,
        "repeat": seen.repeat,
        "chaos": seen.chaos,
        "failure": f"{failure.node}/{failure.kind}" if failure else None,
    }
