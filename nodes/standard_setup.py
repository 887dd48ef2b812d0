"""Standard setup: creates the workspaces a self-serve customer asks for, upgrades and emails on approval."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("create_workspace", "enable_paid_plan", "send_external_message", "open_ticket")

PROMPT = """You are the setup agent for self-serve customers of a SaaS company. Create each workspace the request
names (in quotes), and propose plan upgrades and emails to the customer for a person's approval. Then report
what you created or changed, with ids. Tools and when to use them:
- create_workspace: one workspace per quoted name (keywords: workspace, environment)
- enable_paid_plan: upgrade to the paid starter or pro plan (keywords: upgrade, paid plan)
- send_external_message: email the customer's admin (keywords: email, welcome, notify)
- open_ticket: setup work for the team (keywords: ticket, sso, migration)
"""

SPEC = NodeSpec(
    name="standard_setup",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Sets up self-serve customers: workspaces, plan upgrades, welcome emails.",
    tools=TOOLS,
)
