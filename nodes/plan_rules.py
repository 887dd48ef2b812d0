"""The external feedback the planner reflects on: each proposed step is checked against the tool's schema and
against what the enterprise checks found. A rejection says what is wrong and, where it can, `use name=value`."""

from __future__ import annotations

from typing import Any

from nodes.run_tools import validation_problem
from tools import TOOLS

PLANNABLE = ("create_workspace", "send_external_message", "open_ticket")


def step_problem(tool: str, args: dict[str, Any], checks: dict[str, Any], customer: dict[str, Any]) -> str | None:
    """Why this plan step cannot run as proposed, or None when it may."""
    if tool not in PLANNABLE:
        return f"{tool} is not part of enterprise setup; plan with {', '.join(PLANNABLE)}"
    if problem := validation_problem(TOOLS[tool], args):
        return problem
    if args.get("customer_id") != customer.get("customer_id"):
        wanted = customer.get("customer_id")
        return f"the step is for {args.get('customer_id')!r}, not this customer; use customer_id={wanted}"
    if tool == "create_workspace":
        permissions = checks.get("permissions_check", {}).get("permissions", [])
        if "workspaces.create" not in permissions:
            return "the customer's admin may not authorize new workspaces (no workspaces.create); open a ticket instead"
        region = customer.get("region")
        if args.get("region") != region:  # enterprise contracts pin data residency: the region must be explicit
            return f"enterprise workspaces must name the contract's data region explicitly; use region={region}"
    if "error" in checks.get("billing_check", {}):
        return f"billing could not be checked ({checks['billing_check']['error']}); resolve that first"
    return None
