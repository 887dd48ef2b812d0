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


# --- safe defaults (issue 14): keel on this machine only, behind API keys ---------------------------------------

DEMO_KEY = "keel-demo-key-replace-me"  # documented in docker-compose.yml's header


def test_every_published_port_is_on_loopback(compose: dict[str, Any]):
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["keel"] == ["127.0.0.1:8000:8000"]
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_keel_serves_langgraph_json_graphs_behind_api_keys(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    keel = compose["services"]["keel"]
    config_name = keel["environment"]["KEEL_CONFIG"]
    assert f" {config_name} " in keel["build"]["dockerfile_inline"] + " ", "the image must contain the config"
    config = json.loads((REPO / config_name).read_text())
    plain = json.loads((REPO / "langgraph.json").read_text())
    assert config["graphs"] == plain["graphs"] and config["dependencies"] == plain["dependencies"]
    assert config["auth"] == {"path": "server.auth.api_keys:auth"}

    from server.auth.api_keys import hash_key
    from server.settings import ApiKeySettings, read_group

    monkeypatch.setenv("KEEL_API_KEYS", keel["environment"]["KEEL_API_KEYS"])
    keys = read_group(ApiKeySettings).keys
    assert DEMO_KEY not in keel["environment"]["KEEL_API_KEYS"], "only the digest is configured"
    assert keys[hash_key(DEMO_KEY)].identity == "demo"
    assert DEMO_KEY in (REPO / "docker-compose.yml").read_text(), "the demo key is documented beside it"
