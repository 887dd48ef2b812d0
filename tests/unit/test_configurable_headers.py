"""`http.configurable_headers`, as LangGraph Server applies it: `*` patterns on lower-cased names, excludes win,
nothing by default, credentials never, LangSmith tracing always."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.configurable_headers import HeaderFilter, header_filter
from server.settings import SettingsError


def test_nothing_passes_by_default() -> None:
    assert HeaderFilter().configurable({"x-user-id": "u", "user-agent": "sdk"}) == {}


def test_includes_and_excludes_with_wildcards() -> None:
    passing = HeaderFilter(["x-*", "user-agent"], ["x-internal-*"])
    headers = {"X-User-Id": "u", "x-internal-token": "t", "user-agent": "sdk", "accept": "*/*"}
    assert passing.configurable(headers) == {"x-user-id": "u", "user-agent": "sdk"}


def test_credentials_never_pass() -> None:
    everything = HeaderFilter(["*"])
    headers = {"authorization": "Bearer t", "x-api-key": "k", "x-service-key": "s", "x-tenant-id": "t", "x-a": "1"}
    assert everything.configurable(headers) == {"x-a": "1"}


def test_a_pattern_is_no_regex() -> None:
    assert HeaderFilter(["x-.+"]).configurable({"x-abc": "1", "x-.+": "2"}) == {"x-.+": "2"}


def test_langsmith_tracing_always_passes_with_its_baggage() -> None:
    baggage = "langsmith-metadata=%7B%22a%22%3A1%7D,langsmith-tags=t1%2Ct2,langsmith-project=p,other=x"
    found = HeaderFilter().configurable({"langsmith-trace": "trace-1", "baggage": baggage})
    assert found == {
        "langsmith-trace": "trace-1",
        "langsmith-metadata": {"a": 1},
        "langsmith-tags": ["t1", "t2"],
        "langsmith-project": "p",
    }


def test_the_filter_comes_from_langgraph_json_with_its_aliases(tmp_path: Path) -> None:
    path = tmp_path / "langgraph.json"
    path.write_text(
        json.dumps({"graphs": {}, "http": {"configurable_headers": {"include": ["a-*"], "exclude": ["a-b"]}}})
    )
    assert header_filter(path).configurable({"a-a": "1", "a-b": "2"}) == {"a-a": "1"}
    assert header_filter(None).configurable({"a-a": "1"}) == {}
    path.write_text(json.dumps({"graphs": {}, "http": {"configurable_headers": {"includes": "x-*"}}}))
    with pytest.raises(SettingsError, match="includes must be a list"):
        header_filter(path)
