"""The knowledge agent: answers how-to and policy questions from the product knowledge base."""

from __future__ import annotations

from nodes.spec import NodeSpec
from nodes.tool_agent import tool_agent

TOOLS = ("search_docs", "calculator")

PROMPT = """You are the knowledge agent of a SaaS company's customer desk. Answer how-to and policy questions
from the knowledge base, quoting the article you used, and do arithmetic with the calculator. Tools:
- search_docs: the product knowledge base (keywords: how do, how to, policy, docs, sso, guide, explain)
- calculator: arithmetic (keywords: calculate, compute, how much, total)
"""

SPEC = NodeSpec(
    name="knowledge",
    fn=tool_agent(prompt=PROMPT, tools=TOOLS),
    description="How-to and policy answers from the knowledge base; arithmetic.",
    tools=TOOLS,
    keywords=("how do", "how to", "how does", "policy", "docs", "sso", "guide", "calculate", "explain"),
)
