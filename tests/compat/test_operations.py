"""keel's OpenAPI document against the operations of LangGraph Server's (the `langgraph-api` wheel's openapi.json,
listed in langgraph_api_operations.json with the version they come from). Issue 13 asks for all of them except
a2a, mcp and the experimental protocol-v2 routes; until then KNOWN_MISSING names the gap, and may only shrink:
an operation missing and not listed fails, and so does a listed one that keel now serves (remove it from the set).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from server.app import create_app
from server.settings import Settings

PARAMETER = re.compile(r"\{[^}]*\}")
OPERATIONS = Path(__file__).with_name("langgraph_api_operations.json")

# The gap on the way to issue 13's "every LangGraph Server operation": take an entry out once keel serves it.
KNOWN_MISSING: set[str] = set()  # empty: keel serves every one


def normalized(method: str, path: str) -> str:
    """`METHOD /path/{}`: path parameters are compared by position, since keel may name them differently."""
    shape = PARAMETER.sub("{}", path.rstrip("/") or "/")
    return f"{method.upper()} {shape}"


def expected() -> dict[str, dict[str, Any]]:
    document = json.loads(OPERATIONS.read_text())
    return {normalized(op["method"], op["path"]): op for op in document["operations"]}


def keels_operations() -> set[str]:
    document = create_app(Settings(), "postgresql://unused").openapi()
    return {normalized(method, path) for path, item in document["paths"].items() for method in item}


def test_the_list_names_its_langgraph_api_version() -> None:
    document = json.loads(OPERATIONS.read_text())
    assert document["langgraph_api_version"] == "0.16.7"
    assert len(document["operations"]) + len(document["excluded"]) == 64
    assert all(item["reason"] for item in document["excluded"])


def test_every_langgraph_server_operation_is_in_keels_openapi_document() -> None:
    missing = sorted(set(expected()) - keels_operations())
    unexpected = sorted(set(missing) - KNOWN_MISSING)
    assert not unexpected, "LangGraph Server operations missing from keel's OpenAPI document:\n" + "\n".join(unexpected)


def test_known_missing_only_shrinks() -> None:
    unknown = sorted(KNOWN_MISSING - set(expected()))
    assert not unknown, f"KNOWN_MISSING names operations LangGraph Server does not have: {unknown}"
    now_served = sorted(KNOWN_MISSING & keels_operations())
    assert not now_served, "keel serves these now; remove them from KNOWN_MISSING:\n" + "\n".join(now_served)


def keels_document_operations() -> dict[str, dict[str, Any]]:
    document = create_app(Settings(), "postgresql://unused").openapi()
    return {normalized(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


# Answers that are not JSON: a stream of server-sent events, or a page.
_NOT_JSON = ("text/event-stream", "text/html")


def test_every_operation_declares_its_request_body_and_its_answer() -> None:
    ours = keels_document_operations()
    problems = []
    for name, theirs in expected().items():
        op = ours[name]
        if theirs["request_body"] and "requestBody" not in op:
            problems.append(f"{name}: no request body schema")
        answers = {code: answer for code, answer in op.get("responses", {}).items() if code.startswith("2")}
        described = [
            code
            for code, answer in answers.items()
            if code == "204"
            or any("schema" in media for media in answer.get("content", {}).values())
            or any(kind in answer.get("content", {}) for kind in _NOT_JSON)
        ]
        if not described:
            problems.append(f"{name}: no described 2xx answer")
    assert problems == []
