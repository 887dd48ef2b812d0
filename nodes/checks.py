"""The enterprise checks: billing, admin permissions and contract terms, run in parallel branches and
joined before planning. Each is a read-only tool run directly (no model): the facts the plan is checked
against. A failed check is recorded as its error, so the plan can still be validated and explained."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from nodes.context import Context
from nodes.run_tools import allowed_spec, execute
from nodes.spec import NodeSpec
from nodes.state import OnboardingState, ToolCallDict

CHECKS = {
    "billing_check": "check_billing_status",
    "permissions_check": "check_admin_permissions",
    "contract_check": "lookup_contract_terms",
}


def make_check(name: str, tool: str) -> Any:
    async def check(state: OnboardingState, runtime: Runtime[Context]) -> dict[str, Any]:
        customer_id = state.get("customer", {}).get("customer_id")
        call = ToolCallDict(name=tool, args={"customer_id": customer_id}, id=name)
        spec = allowed_spec(call, (tool,))
        if isinstance(spec, str):
            return {"checks": {name: {"error": spec}}}
        result = await execute(call, spec, runtime, agent=name)
        found = result.artifact if result.status != "error" else {"error": result.content}
        return {"checks": {name: found}}

    return check


SPECS = tuple(
    NodeSpec(name=name, fn=make_check(name, tool), description=f"Runs {tool}.", tools=(tool,), retry=None)
    for name, tool in CHECKS.items()
)
