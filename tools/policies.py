"""Tool-argument policies, as data: what a call's arguments must satisfy before it runs, and before a person is even
asked to approve it. `POLICIES` holds one line per policy: the tool, the policy's name, its check and the check's
parameters. A check gets the validated arguments, the call (its `db` for reading the desk) and its parameters, and
returns why the call is refused (the model reads it as the tool's error), or None. A ToolError it raises is a
refusal too. The tool runner and the approval node apply them (nodes/policy_gate.py); the tools still check
again when they write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tools.db import pool
from tools.refunds import cents_of, refundable_cents
from tools.spec import ToolCall, ToolError

Check = Callable[..., Awaitable[str | None]]  # (validated args, call, **params) -> why it is refused, or None


@dataclass(frozen=True)
class Policy:
    name: str
    check: Check
    params: Mapping[str, Any] = field(default_factory=dict)

    async def refusal(self, args: BaseModel, call: ToolCall) -> str | None:
        try:
            return await self.check(args, call, **self.params)
        except ToolError as exc:
            return str(exc)


def policy(name: str, check: Check, **params: Any) -> Policy:
    return Policy(name, check, params)


async def fits_invoice(args: BaseModel, call: ToolCall, *, customer: str, invoice: str, amount: str) -> None:
    """The `amount` field is at most what is left to refund on the `invoice` field's paid invoice of `customer`."""
    cents = cents_of(getattr(args, amount))
    async with pool(call).connection() as conn:
        await refundable_cents(conn, getattr(args, customer), getattr(args, invoice), cents)  # a ToolError: refused


# Tool -> its policies, checked in order; the first refusal wins.
POLICIES: Mapping[str, tuple[Policy, ...]] = {
    "issue_refund": (
        # Never more than what is left to refund on the invoice (nor an unpaid or another customer's invoice).
        policy("refund_within_invoice", fits_invoice, customer="customer_id", invoice="invoice_id", amount="amount"),
    ),
}
