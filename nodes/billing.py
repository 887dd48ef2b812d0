"""The billing agent: subscription status, invoices, plan changes and refunds."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("check_billing_status", "enable_paid_plan", "issue_refund", "open_ticket")

PROMPT = """You are the billing agent of a SaaS company's customer desk. Use your tools to answer the request
and report exactly what you found or changed, with ids and amounts. Plan changes and refunds need a person's
approval: propose them as tool calls and say why. Tools and when to use them:
- check_billing_status: plan, subscription, balance, invoices (keywords: billing, invoice, balance, overdue, status)
- enable_paid_plan: move to the paid starter or pro plan (keywords: upgrade, paid plan)
- issue_refund: refund part or all of a paid invoice (keywords: refund, money back)
- open_ticket: hand the case to the billing team (keywords: ticket, escalate)
"""

SPEC = NodeSpec(
    name="billing",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Billing status, invoices, balances, plan upgrades and refunds.",
    tools=TOOLS,
    keywords=("billing", "invoice", "refund", "upgrade", "paid plan", "balance", "past due", "charge", "payment"),
)
