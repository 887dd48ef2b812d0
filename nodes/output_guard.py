"""The output guardrail: an answer to the user that names another customer's ids or e-mail addresses is redacted
before it is stored as the thread's answer, and the occurrence is reported (kinds and count, never the values).

"The request's customers" are those the user named in the conversation (an id of theirs, their admin's address or
their domain, their name) plus those `lookup_customer` resolved from a query the user wrote, plus any the graph
resolved for the request itself (onboarding's intake). "Another customer" is any other customer the desk knows;
any e-mail address that is not at one of the request's customers counts as another customer's.

The redacted message keeps the model's message id: a client that streamed the model's tokens (messages mode) got
them before the answer was complete; the thread's state and the values stream then carry the redacted message
under the same id, which clients that key messages by id (the SDK's useStream, Agent Chat UI) show instead."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from nodes.guardrails import report

MARKER = "[redacted: another customer]"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Desk ids: customers, invoices, workspaces, subscriptions, refunds, tickets, contracts, outbox messages.
DESK_ID = re.compile(r"\b(?:cus|inv|ws|sub|ref|tkt|ctr|msg)_[a-z0-9_]*[a-z0-9]")

# Which customer each id-shaped token belongs to, and what kind of id it is.
_OWNERS = """
SELECT customer_id AS id, customer_id, 'customer_id' AS kind FROM desk.customers WHERE customer_id = ANY(%(ids)s)
UNION ALL SELECT invoice_id, customer_id, 'invoice_id' FROM desk.invoices WHERE invoice_id = ANY(%(ids)s)
UNION ALL SELECT workspace_id, customer_id, 'workspace_id' FROM desk.workspaces WHERE workspace_id = ANY(%(ids)s)
UNION ALL SELECT subscription_id, customer_id, 'subscription_id' FROM desk.subscriptions
    WHERE subscription_id = ANY(%(ids)s)
UNION ALL SELECT refund_id, customer_id, 'refund_id' FROM desk.refunds WHERE refund_id = ANY(%(ids)s)
UNION ALL SELECT ticket_id, customer_id, 'ticket_id' FROM desk.tickets WHERE ticket_id = ANY(%(ids)s)
UNION ALL SELECT contract_id, customer_id, 'contract_id' FROM desk.contracts WHERE contract_id = ANY(%(ids)s)
UNION ALL SELECT message_id, customer_id, 'message_id' FROM desk.outbox WHERE message_id = ANY(%(ids)s)
"""

# The customers a text names by id, admin address, domain or name (its words, in order, among the text's words).
_NAMED = r"""
SELECT customer_id, lower(admin_email) AS admin_email, lower(domain) AS domain FROM desk.customers
WHERE customer_id = ANY(%(ids)s) OR lower(admin_email) = ANY(%(emails)s) OR lower(domain) = ANY(%(domains)s)
   OR strpos(%(words)s, ' ' || trim(regexp_replace(lower(name), '\W+', ' ', 'g')) || ' ') > 0
"""


@dataclass(frozen=True)
class Customers:
    """The request's customers: their ids, admin addresses and domains, plus the addresses the user wrote (an answer
    cannot leak those to the user); all lower case."""

    ids: frozenset[str]
    emails: frozenset[str]
    domains: frozenset[str]

    def owns_email(self, address: str) -> bool:
        address = address.lower()
        return address in self.emails or address.rsplit("@", 1)[1] in self.domains


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "\n".join(p if isinstance(p, str) else str(p.get("text", "")) for p in parts if isinstance(p, str | dict))


def _user_texts(messages: Sequence[AnyMessage]) -> str:
    return "\n".join(_text(m.content) for m in messages if isinstance(m, HumanMessage))


def _looked_up(messages: Sequence[AnyMessage], user_text: str) -> set[str]:
    """Customers `lookup_customer` resolved from a query the user wrote (a lookup the model made up does not count:
    that is how an answer about someone else would get in)."""
    queries = {
        call["id"]: str(call["args"].get("query", ""))
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call["name"] == "lookup_customer"
    }
    lowered = user_text.lower()
    found = set()
    for m in messages:
        if not (isinstance(m, ToolMessage) and m.name == "lookup_customer" and m.status != "error"):
            continue
        query = queries.get(m.tool_call_id, "").strip().lower()
        if query and query in lowered and isinstance(m.artifact, dict) and m.artifact.get("customer_id"):
            found.add(str(m.artifact["customer_id"]))
    return found


async def request_customers(db: Any, messages: Sequence[AnyMessage], known: Iterable[str] = ()) -> Customers:
    user_text = _user_texts(messages)
    emails = {e.lower() for e in EMAIL.findall(user_text)}
    tokens = set(DESK_ID.findall(user_text))
    async with db.connection() as conn:
        owners = await (await conn.execute(_OWNERS, {"ids": list(tokens)})).fetchall()
        ids = {*tokens, *(row["customer_id"] for row in owners), *_looked_up(messages, user_text), *known}
        params = {
            "ids": list(ids),
            "emails": list(emails),
            "domains": [e.rsplit("@", 1)[1] for e in emails],
            "words": " " + " ".join(re.findall(r"\w+", user_text.lower())) + " ",
        }
        rows = await (await conn.execute(_NAMED, params)).fetchall()
    return Customers(
        ids=frozenset(row["customer_id"] for row in rows),
        emails=frozenset({*(row["admin_email"] for row in rows), *emails}),
        domains=frozenset(row["domain"] for row in rows),
    )


async def _leaks(db: Any, text: str, customers: Customers) -> dict[str, str]:
    """Each value in `text` that belongs to another customer -> its kind."""
    leaks = {address: "email" for address in set(EMAIL.findall(text)) if not customers.owns_email(address)}
    tokens = set(DESK_ID.findall(text))
    if tokens:
        async with db.connection() as conn:
            owners = await (await conn.execute(_OWNERS, {"ids": list(tokens)})).fetchall()
        leaks |= {row["id"]: row["kind"] for row in owners if row["customer_id"] not in customers.ids}
    return leaks


def _redact(text: str, leaks: dict[str, str]) -> tuple[str, int]:
    # Longest first, whole tokens only: `inv_acme_2026_1` must not eat into `inv_acme_2026_10`.
    values = sorted(leaks, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.@+-])(?:" + "|".join(re.escape(v) for v in values) + r")(?![\w@-])")
    return pattern.subn(MARKER, text)


async def guard_answer(
    answer: AIMessage, messages: Sequence[AnyMessage], db: Any, *, known: Iterable[str] = ()
) -> AIMessage:
    """`answer` with every other customer's id and e-mail address replaced by MARKER (reported once per answer),
    or `answer` itself when it names none. `messages` is the conversation the answer replies to; `known` are
    customer ids the graph resolved for the request."""
    text = _text(answer.content)
    if not EMAIL.search(text) and not DESK_ID.search(text):
        return answer  # nothing id- or address-shaped: no database round trip
    customers = await request_customers(db, messages, known)
    leaks = await _leaks(db, text, customers)
    if not leaks:
        return answer
    if isinstance(answer.content, str):
        content: Any = answer.content
        content, count = _redact(content, leaks)
    else:
        content, count = [], 0
        for part in answer.content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                redacted, n = _redact(part["text"], leaks)
                part, count = {**part, "text": redacted}, count + n
            elif isinstance(part, str):
                part, n = _redact(part, leaks)
                count += n
            content.append(part)
    if count == 0:
        return answer
    await report("output_leak", "redacted", {"kinds": sorted(set(leaks.values())), "count": count})
    # Same id: the redacted message replaces the streamed one in the thread and in clients that key by id.
    return answer.model_copy(update={"content": content})
