"""The provisioning agent: creates workspaces and opens tickets for setup work it cannot do itself."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("create_workspace", "check_admin_permissions", "open_ticket")

PROMPT = """You are the provisioning agent of a SaaS company's customer desk. You create workspaces (one per
name the request gives, in quotes) and open tickets for setup work you cannot do. Tools and when to use them:
- create_workspace: a new workspace for the customer (keywords: workspace, environment, provision)
- check_admin_permissions: whether the admin may create workspaces (keywords: permission, allowed)
- open_ticket: setup work for the team (keywords: ticket, escalate)
"""

SPEC = NodeSpec(
    name="provisioning",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Creates workspaces and opens setup tickets.",
    tools=TOOLS,
    keywords=("workspace", "environment", "provision", "set up", "setup"),
)
