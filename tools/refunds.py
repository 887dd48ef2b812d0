"""Refunds against a customer's paid invoices, never more in total than the invoice amount."""

from __future__ import annotations

from pydantic import Field

from tools.db import INVOICES_WITH_REFUNDS, Connection, Row, money, require_customer
from tools.ledger import write_once
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec

# Amounts above this are typos or need finance, not a support agent.
MAX_REFUND = 100_000.0


class IssueRefundArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")
    invoice_id: str = Field(description="The paid invoice to refund (inv_…), from check_billing_status")
    amount: float = Field(gt=0, le=MAX_REFUND, description="Amount to refund in USD, e.g. 49.00")
    reason: str = Field(min_length=3, max_length=500, description="Why, in one sentence, for the customer's record")


def cents_of(amount: float) -> int:
    cents = round(amount * 100)
    if abs(cents - amount * 100) > 1e-6:
        raise ToolError(f"amount {amount} has more than two decimals; give USD with cents, e.g. 49.00")
    return cents


async def refundable_cents(conn: Connection, customer_id: str, invoice_id: str, cents: int) -> int:
    """What is left to refund on the customer's paid invoice, or a ToolError saying why `cents` cannot be refunded
    on it (not the customer's, not paid, more than is left). The tool checks it under the customer's row lock; the
    tool_policy check (tools/policies.py) reads it before an approval is asked."""
    invoice = await (await conn.execute(INVOICES_WITH_REFUNDS + " WHERE i.invoice_id = %s", (invoice_id,))).fetchone()
    if invoice is None or invoice["customer_id"] != customer_id:
        raise ToolError(f"{customer_id} has no invoice {invoice_id!r}; check_billing_status lists its invoices")
    if invoice["status"] != "paid":
        raise ToolError(f"invoice {invoice_id} is {invoice['status']}, not paid; only paid invoices can be refunded")
    refundable: int = invoice["amount_cents"] - invoice["refunded_cents"]
    if cents > refundable:
        raise ToolError(
            f"invoice {invoice_id} has only {money(refundable):.2f} USD left to refund "
            f"({money(invoice['refunded_cents']):.2f} of {money(invoice['amount_cents']):.2f} already refunded)"
        )
    return refundable


async def issue_refund(args: IssueRefundArgs, call: ToolCall) -> Row:
    cents = cents_of(args.amount)

    async def write(conn: Connection) -> Row:
        await require_customer(conn, args.customer_id, lock=True)  # serializes refunds for this customer
        refundable = await refundable_cents(conn, args.customer_id, args.invoice_id, cents)
        refund = await (
            await conn.execute(
                "INSERT INTO desk.refunds (customer_id, invoice_id, amount_cents, reason) VALUES (%s, %s, %s, %s)"
                " RETURNING refund_id",
                (args.customer_id, args.invoice_id, cents, args.reason),
            )
        ).fetchone()
        assert refund is not None
        return {
            "refund_id": refund["refund_id"],
            "customer_id": args.customer_id,
            "invoice_id": args.invoice_id,
            "amount": money(cents),
            "currency": "USD",
            "invoice_refundable_left": money(refundable - cents),
        }

    return await write_once(call, "issue_refund", write)


ISSUE_REFUND = ToolSpec(
    name="issue_refund",
    description="Refund part or all of a customer's paid invoice (amount in USD). Needs a person's approval. "
    "Refused for unpaid invoices and for more than what is left to refund on the invoice.",
    args=IssueRefundArgs,
    run=issue_refund,
    risk=Risk.APPROVAL_REQUIRED,
    # From this amount on (KEEL_TWO_PERSON_REFUND_USD), whoever decides did not start the run that asked.
    two_person=lambda args, limits: args.amount >= limits.two_person_refund_usd,
)
