"""keel's OpenAPI document: FastAPI's, plus the error answers every operation can give.

Every operation may answer 413 (body limit) and 422 (bad input, see `server.input_guard`); the resource
operations also 400, 404 and 409 (`server.errors`). keel's errors are `{"detail": "<message>"}`; a 422 from
schema validation keeps FastAPI's per-field list in `detail` and adds a one-line `message`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from server.docs import DOCS_PATH
from server.routes.resources import Error, ValidationErrorBody

_EVERYWHERE = {
    "413": "Request body larger than KEEL_MAX_BODY_BYTES",
    "422": "Invalid input: a field, a NUL character or lone surrogate, a message over KEEL_MAX_MESSAGE_CHARS",
}
_RESOURCES = {
    "400": "The request cannot be done as asked",
    "404": "An unknown thread, assistant, run, checkpoint or graph",
    "409": "The resource exists already, or its state forbids the request",
}
_PROBES = {"health", "observability"}  # no resource behind them


def install_openapi(app: FastAPI, user_document: dict[str, Any] | None = None) -> None:
    """keel's document, with the operations of the user's `http.app` (`user_document`) added: theirs win a
    clash, as their routes do."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_user_operations(_document(app), user_document or {})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customize the document


def _document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = Error.model_json_schema()
    schemas["HTTPValidationError"] = ValidationErrorBody.model_json_schema()
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            for response in responses.values():
                for content in response.get("content", {}).values():
                    _only_the_ref(content.get("schema", {}))
            errors = dict(_EVERYWHERE)
            if not _PROBES & set(operation.get("tags", ())):
                errors |= _RESOURCES
            for status, description in errors.items():
                name = "HTTPValidationError" if status == "422" else "Error"
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                }
    # Served outside the routes the document is made from (server.docs); LangGraph Server lists it
    document["paths"].setdefault(DOCS_PATH, {})["get"] = {
        "tags": ["health"],
        "summary": "API documentation",
        "description": "This document, browsable (Swagger UI).",
        "operationId": "docs",
        "responses": {"200": {"description": "The documentation page", "content": {"text/html": {}}}},
    }
    return document


def _with_user_operations(document: dict[str, Any], user_document: dict[str, Any]) -> dict[str, Any]:
    for path, operations in user_document.get("paths", {}).items():
        document["paths"].setdefault(path, {}).update(operations)
    schemas = document["components"]["schemas"]
    for name, schema in user_document.get("components", {}).get("schemas", {}).items():
        schemas.setdefault(name, schema)
    return document


def _only_the_ref(schema: dict[str, Any]) -> None:
    """A route returning `dict[str, Any]` that names a model in `responses=` gets FastAPI's object schema merged
    with the model's `$ref`; the model alone is the answer's shape."""
    if "$ref" in schema:
        for key in [key for key in schema if key != "$ref"]:
            del schema[key]
    elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        _only_the_ref(schema["items"])
