"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the Compose spec."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml

from tests.process import REPO

LANGFUSE_SERVICES = {"langfuse-web", "langfuse-worker", "clickhouse", "redis", "minio"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def test_file_is_valid_against_the_compose_specification(compose: dict[str, Any]):
    # check-jsonschema vendors the compose-spec schema (compose-spec/compose-spec, Apache-2.0).
    schema_file = files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose, schema)
    broken = {**compose, "services": {"keel": {"environment": 42}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_keel_is_wired_to_postgres_and_langfuse(compose: dict[str, Any]):
    services = compose["services"]
    assert {"keel", "postgres"} | LANGFUSE_SERVICES <= set(services)
    keel = services["keel"]
    env = keel["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["LANGFUSE_BASE_URL"] == "http://langfuse-web:3000"
    web_env = services["langfuse-web"]["environment"]
    assert env["LANGFUSE_PUBLIC_KEY"] == web_env["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"]
    assert env["LANGFUSE_SECRET_KEY"] == web_env["LANGFUSE_INIT_PROJECT_SECRET_KEY"]
    assert keel["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]


def test_keel_image_copies_every_package(compose: dict[str, Any]):
    dockerfile = compose["services"]["keel"]["build"]["dockerfile_inline"]
    for package in ("graphs", "nodes", "tools", "server", "evals"):
        assert f"COPY {package} {package}" in dockerfile
    assert "uv sync --frozen" in dockerfile
