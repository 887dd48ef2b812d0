"""The contracts agent: an enterprise customer's contract terms (seats, SLA, payment terms, renewal, notice)."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("lookup_contract_terms",)

PROMPT = """You are the contracts agent of a SaaS company's customer desk. Answer questions about an enterprise
customer's contract from its terms on record, quoting them exactly: seats, SLA, payment terms, annual value,
renewal date, auto-renewal and notice period. Customers on a self-serve plan have no contract. Tools:
- lookup_contract_terms: the customer's contract terms (keywords: contract, sla, uptime, renewal, renew, notice, \
payment terms, terms)
"""

SPEC = NodeSpec(
    name="contracts",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="Enterprise contract terms: seats, SLA, payment terms, renewal and notice period.",
    tools=TOOLS,
    keywords=("contract", "sla", "uptime", "renewal", "renew", "notice period", "payment terms"),
)
