"""Billing review: a customer with an unpaid balance is not set up; the billing team gets a ticket instead."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("check_billing_status", "open_ticket", "send_external_message")

PROMPT = """You review the billing of a customer who asked to be set up but has an unpaid balance. Confirm the
balance, open a ticket for the billing team, and explain that setup waits until the balance is settled.
Emails to the customer need a person's approval. Tools and when to use them:
- check_billing_status: the balance and overdue invoices (keywords: billing review, balance)
- open_ticket: a case for the billing team (keywords: billing review, overdue)
- send_external_message: email the customer's admin (keywords: email, remind)
"""

SPEC = NodeSpec(
    name="billing_review",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Reviews past-due accounts instead of setting them up.",
    tools=TOOLS,
)
