"""A stand-in for Langfuse's OTLP/HTTP endpoint: decodes what the Langfuse SDK exports and keeps the spans."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.loopback import serve_in_thread
from tests.waiting import wait_until

PATH = "/api/public/otel/v1/traces"


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    attributes: dict[str, Any]

    @property
    def kind(self) -> str | None:
        return self.attributes.get("langfuse.observation.type")


@dataclass
class Receiver:
    base_url: str
    spans: list[Span] = field(default_factory=list)
    failing: bool = False  # answer 400 (not retryable: the exporter logs the failure and drops the batch)
    holding: bool = False  # keep every export request waiting, unanswered, while this is set
    requests: int = 0

    def traces(self) -> dict[str, list[Span]]:
        grouped: dict[str, list[Span]] = {}
        for span in list(self.spans):
            grouped.setdefault(span.trace_id, []).append(span)
        return grouped

    def wait_for(self, predicate: Any) -> None:
        def has() -> str:
            return f"the expected spans; has {sorted({(s.trace_id[:8], s.name) for s in self.spans})}"

        wait_until(lambda: predicate(self), what=has)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind)


def _app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post(PATH)
    async def export(request: Request) -> Response:
        receiver.requests += 1
        while receiver.holding:
            await asyncio.sleep(0.05)
        if receiver.failing:
            return Response(status_code=400)
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest.FromString(body)
        for resource_spans in message.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    receiver.spans.append(
                        Span(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name, attributes)
                    )
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    return app


def serve_receiver() -> Iterator[Receiver]:
    receiver = Receiver(base_url="")
    with serve_in_thread(_app(receiver), name="otlp-receiver") as port:
        receiver.base_url = f"http://127.0.0.1:{port}"
        yield receiver
