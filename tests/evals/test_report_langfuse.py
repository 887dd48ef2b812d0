"""With Langfuse configured, the report posts the task suite as a Langfuse dataset and each attempt's scores on its
traces, through the real Langfuse SDK against a local stand-in for Langfuse's public API (datasets, dataset items,
scores). Langfuse failing does not fail the report."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from evals import langfuse_sync, report
from tests.evals.attempts import REFUND, good_refund
from tests.loopback import serve_in_thread

NOW = "2026-11-29T12:00:00Z"


@dataclass
class LangfuseStandIn:
    base_url: str = ""
    # The SDK keeps one client per public key in a process: a key of each test's own reaches this test's stand-in.
    public_key: str = field(default_factory=lambda: f"pk-lf-{uuid.uuid4().hex[:8]}")
    received: list[tuple[str, str, Any, str]] = field(default_factory=list)  # method, path, body, authorization
    failing: bool = False

    def bodies(self, path: str) -> list[Any]:
        return [body for _, at, body, _ in self.received if at == path]


def _app(stand_in: LangfuseStandIn) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str, request: Request) -> JSONResponse:
        body: Any = await request.json() if request.method == "POST" else {}
        stand_in.received.append((request.method, f"/{path}", body, request.headers.get("authorization", "")))
        if stand_in.failing:
            return JSONResponse({"message": "down"}, status_code=500)
        if path == "api/public/v2/datasets":
            dataset = {"id": "ds1", "name": body["name"], "description": body.get("description"), "metadata": None}
            return JSONResponse(dataset | {"projectId": "p", "createdAt": NOW, "updatedAt": NOW})
        if path == "api/public/dataset-items":
            item = {"id": body["id"], "status": "ACTIVE", "input": body.get("input"), "metadata": body.get("metadata")}
            extra = {"expectedOutput": body.get("expectedOutput"), "sourceTraceId": None, "sourceObservationId": None}
            extra["mediaReferences"] = []
            return JSONResponse(
                item
                | extra
                | {"datasetId": "ds1", "datasetName": body["datasetName"], "createdAt": NOW, "updatedAt": NOW}
            )
        if path == "api/public/scores":
            return JSONResponse({"message": "Accepted"}, status_code=202)
        return JSONResponse({})

    return app


@pytest.fixture
def langfuse(monkeypatch: pytest.MonkeyPatch) -> Iterator[LangfuseStandIn]:
    stand_in = LangfuseStandIn()
    with serve_in_thread(_app(stand_in), name="langfuse-stand-in") as port:
        stand_in.base_url = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", stand_in.public_key)
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-eval")
        monkeypatch.setenv("LANGFUSE_BASE_URL", stand_in.base_url)
        yield stand_in


def test_the_dataset_and_each_attempts_scores_are_posted_with_the_sdk(tmp_path: Path, langfuse: LangfuseStandIn):
    failed = good_refund().observed(answer="All done!").model_copy(update={"repeat": 1})
    report.write(tmp_path, [REFUND], [good_refund().observed(), failed])

    [dataset] = langfuse.bodies("/api/public/v2/datasets")
    assert dataset["name"] == langfuse_sync.DATASET
    [item] = langfuse.bodies("/api/public/dataset-items")
    assert (item["id"], item["datasetName"]) == (REFUND.id, langfuse_sync.DATASET)
    assert item["input"]["messages"] == REFUND.messages
    assert item["expectedOutput"]["rubric"] == REFUND.rubric

    scores = [score for batch in langfuse.bodies("/api/public/scores") for score in batch]
    assert {score["traceId"] for score in scores} == {"abc123"}  # the trace of the attempt's run
    passed = sorted((s["metadata"]["repeat"], s["value"]) for s in scores if s["name"] == "eval.passed")
    assert passed == [(0, 1.0), (1, 0.0)]
    [rubric] = [s for s in scores if s["name"] == "eval.rubric" and s["metadata"]["repeat"] == 1]
    assert rubric["value"] == 0.0 and "does not state" in rubric["comment"]
    assert rubric["metadata"]["failure"] == "supervisor/unsupported_claim"
    assert {s["name"] for s in scores} >= {"eval.effects", "eval.approved_writes", "eval.duplicated_effects"}
    expected = "Basic " + base64.b64encode(f"{langfuse.public_key}:sk-lf-eval".encode()).decode()
    assert {auth for _, _, _, auth in langfuse.received} == {expected}


def test_langfuse_failing_does_not_fail_the_report(tmp_path: Path, langfuse: LangfuseStandIn):
    langfuse.failing = True
    summary = report.write(tmp_path, [REFUND], [good_refund().observed()])
    assert summary.passed == 1 and (tmp_path / "report.md").exists()
    assert langfuse.received  # it tried


def test_without_langfuse_nothing_is_posted(tmp_path: Path):
    assert not langfuse_sync.post_if_configured([REFUND], [])
    assert langfuse_sync.trace_id_of("http://localhost:3000/trace/0af7651916cd43dd8448eb211c80319c") == (
        "0af7651916cd43dd8448eb211c80319c"
    )
    assert langfuse_sync.trace_id_of(None) is None
