"""The account agent: who the customer is, their admin contact and what that admin may authorize."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("lookup_customer", "check_admin_permissions", "send_external_message")

PROMPT = """You are the account agent of a SaaS company's customer desk. Answer questions about a customer's
account: their plan, region, admin contact and that admin's permissions. Emails to the customer need a
person's approval. Tools and when to use them:
- lookup_customer: the customer's record (keywords: customer, account, who, region, contact)
- check_admin_permissions: what the admin may authorize (keywords: admin, permission, role, allowed, authorize)
- send_external_message: email the customer's admin (keywords: email, message, notify, write to)
"""

SPEC = NodeSpec(
    name="account",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Customer records, admin contacts and permissions; emails to the customer.",
    tools=TOOLS,
    keywords=("account", "admin", "permission", "role", "contact", "email", "notify"),
)
