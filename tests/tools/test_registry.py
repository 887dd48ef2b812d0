from __future__ import annotations

import inspect

import jsonschema
import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from tools import TOOLS
from tools.spec import Risk, ToolSpec, as_langchain_tool

EXPECTED_RISK = {
    "lookup_customer": Risk.READ_ONLY,
    "check_billing_status": Risk.READ_ONLY,
    "check_admin_permissions": Risk.READ_ONLY,
    "lookup_contract_terms": Risk.READ_ONLY,
    "search_docs": Risk.READ_ONLY,
    "calculator": Risk.READ_ONLY,
    "create_workspace": Risk.IDEMPOTENT_WRITE,
    "open_ticket": Risk.IDEMPOTENT_WRITE,
    "enable_paid_plan": Risk.APPROVAL_REQUIRED,
    "issue_refund": Risk.APPROVAL_REQUIRED,
    "send_external_message": Risk.APPROVAL_REQUIRED,
    "remember_preferred_channel": Risk.IDEMPOTENT_WRITE,
}


def test_registry_names_and_risk_levels():
    assert {name: spec.risk for name, spec in TOOLS.items()} == EXPECTED_RISK
    for name, spec in TOOLS.items():
        assert spec.name == name
        assert 0 < spec.timeout_s <= 30
        assert len(spec.description) > 20
        assert inspect.iscoroutinefunction(spec.run)


def test_the_default_risk_is_the_strictest():
    spec = ToolSpec(name="x", description="x", args=TOOLS["calculator"].args, run=TOOLS["calculator"].run)
    assert spec.risk is Risk.APPROVAL_REQUIRED


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_langchain_tool_schema(name):
    spec = TOOLS[name]
    tool = as_langchain_tool(spec)
    assert tool["type"] == "function"
    function = tool["function"]
    assert (function["name"], function["description"]) == (spec.name, spec.description)
    parameters = function["parameters"]
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False  # a misspelt argument is refused, not ignored
    jsonschema.Draft202012Validator.check_schema(parameters)
    # what the model sees matches what the runner validates
    assert set(parameters["properties"]) == set(spec.args.model_fields)
    assert set(parameters.get("required", [])) == {n for n, f in spec.args.model_fields.items() if f.is_required()}
    assert all(prop.get("description") for prop in parameters["properties"].values())
    # and it is a schema LangChain accepts as is for bind_tools
    assert convert_to_openai_tool(tool) == tool


def test_schema_shows_enums_and_defaults():
    params = as_langchain_tool(TOOLS["open_ticket"])["function"]["parameters"]
    assert params["properties"]["priority"]["enum"] == ["low", "normal", "high", "urgent"]
    assert params["properties"]["priority"]["default"] == "normal"
    assert params["required"] == ["customer_id", "subject", "body"]
