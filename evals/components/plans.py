"""The plan validator alone: each labelled plan checked step by step (nodes/plan_rules.py) against what the
enterprise checks found about its customer; a plan is valid when no step has a problem, and an invalid one must be
rejected with the fix its label names."""

from __future__ import annotations

from typing import Any

from evals.components import Case, ComponentResult, desk, labelled
from nodes.plan_rules import step_problem


def checks_of(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer and the checks the validator gets, with the label's changes (permissions, a billing error)."""
    found = desk()[item["customer"]]
    permissions = dict(found["check_admin_permissions"])
    if "permissions" in item:
        permissions["permissions"] = item["permissions"]
    billing = {"error": item["billing_error"]} if "billing_error" in item else found["check_billing_status"]
    return found["lookup_customer"], {"billing_check": billing, "permissions_check": permissions}


def judge(item: dict[str, Any]) -> Case:
    customer, checks = checks_of(item)
    problems = [p for step in item["steps"] if (p := step_problem(step["tool"], step["args"], checks, customer))]
    expected = "valid" if item["valid"] else "invalid"
    got = "invalid" if problems else "valid"
    detail = "; ".join(problems)
    passed = got == expected and (got == "valid" or str(item.get("fix", "")) in detail)
    return Case(name=item["name"], expected=expected, got=got, passed=passed, detail=detail)


def evaluate() -> ComponentResult:
    return ComponentResult.of(
        "plan_validator",
        [
            judge(item)
            for item in labelled(
                "plans.yaml", {"name", "customer", "valid", "steps"}, {"fix", "permissions", "billing_error"}
            )
        ],
    )
