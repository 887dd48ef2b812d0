"""Billing: a customer's subscription and invoices, and moving a customer onto a paid plan."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.db import INVOICES_WITH_REFUNDS, Connection, Row, iso, missing_permission, money, pool, require_customer
from tools.ledger import write_once
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec

# Invoices shown in a billing summary: the most recent ones are what a support question is about.
RECENT_INVOICES = 6


class CustomerArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")


def _invoice(row: Row) -> Row:
    return {
        "invoice_id": row["invoice_id"],
        "description": row["description"],
        "amount": money(row["amount_cents"]),
        "status": row["status"],
        "issued_on": iso(row["issued_on"]),
        "due_on": iso(row["due_on"]),
        "paid_on": iso(row["paid_on"]),
        "refunded": money(row["refunded_cents"]),
    }


async def _overdue_invoices(conn: Connection, customer_id: str) -> list[str]:
    rows = await (
        await conn.execute(
            "SELECT invoice_id FROM desk.invoices WHERE customer_id = %s AND status = 'overdue' ORDER BY due_on",
            (customer_id,),
        )
    ).fetchall()
    return [row["invoice_id"] for row in rows]


async def check_billing_status(args: CustomerArgs, call: ToolCall) -> Row:
    async with pool(call).connection() as conn:
        customer = await require_customer(conn, args.customer_id)
        sub = await (
            await conn.execute(
                "SELECT s.*, p.monthly_price_cents FROM desk.subscriptions s"
                " JOIN desk.plans p ON p.plan_id = %s WHERE s.customer_id = %s",
                (customer["plan_tier"], args.customer_id),
            )
        ).fetchone()
        invoices = await (
            await conn.execute(
                INVOICES_WITH_REFUNDS
                + " WHERE i.customer_id = %s ORDER BY i.issued_on DESC, i.invoice_id DESC LIMIT %s",
                (args.customer_id, RECENT_INVOICES),
            )
        ).fetchall()
        balance = await (
            await conn.execute(
                "SELECT coalesce(sum(amount_cents), 0) AS cents FROM desk.invoices"
                " WHERE customer_id = %s AND status IN ('open', 'overdue')",
                (args.customer_id,),
            )
        ).fetchone()
        overdue = await _overdue_invoices(conn, args.customer_id)
    if sub is None:
        raise ToolError(f"{args.customer_id} has no subscription on record; open a ticket for the billing team")
    return {
        "customer_id": args.customer_id,
        "plan": customer["plan_tier"],
        "subscription": {
            "subscription_id": sub["subscription_id"],
            "status": sub["status"],
            "seats": sub["seats"],
            "monthly_price": money(sub["monthly_price_cents"]),  # None: priced by an enterprise contract
            "current_period_start": iso(sub["current_period_start"]),
            "current_period_end": iso(sub["current_period_end"]),
        },
        "balance_due": money(balance["cents"] if balance else 0),
        "overdue_invoices": overdue,
        "invoices": [_invoice(row) for row in invoices],
    }


class EnablePaidPlanArgs(CustomerArgs):
    plan: Literal["starter", "pro"] = Field(description="The paid self-serve plan to move the customer to")


async def enable_paid_plan(args: EnablePaidPlanArgs, call: ToolCall) -> Row:
    async def write(conn: Connection) -> Row:
        customer = await require_customer(conn, args.customer_id, lock=True)
        if customer["enterprise"]:
            raise ToolError(
                f"{args.customer_id} is on an enterprise contract; plan changes go through the account team "
                "(open a ticket), not enable_paid_plan"
            )
        if customer["plan_tier"] == args.plan:
            raise ToolError(f"{args.customer_id} is already on the {args.plan} plan; nothing to change")
        if problem := missing_permission(customer, "billing.manage"):
            raise ToolError(f"cannot change the plan: {problem}")
        if overdue := await _overdue_invoices(conn, args.customer_id):
            raise ToolError(
                f"{args.customer_id} has overdue invoices ({', '.join(overdue)}); they must be paid before a "
                "plan change (check_billing_status shows them)"
            )
        plan = await (await conn.execute("SELECT * FROM desk.plans WHERE plan_id = %s", (args.plan,))).fetchone()
        assert plan is not None  # Literal args only name seeded plans
        await conn.execute(
            "UPDATE desk.customers SET plan_tier = %s WHERE customer_id = %s", (args.plan, args.customer_id)
        )
        sub = await (
            await conn.execute(
                "UPDATE desk.subscriptions SET status = 'active', seats = %s,"
                " current_period_start = current_date, current_period_end = current_date + interval '1 month'"
                " WHERE customer_id = %s RETURNING *",
                (plan["seats_included"], args.customer_id),
            )
        ).fetchone()
        invoice = await (
            await conn.execute(
                "INSERT INTO desk.invoices (customer_id, description, amount_cents, status, issued_on, due_on)"
                " VALUES (%s, %s, %s, 'open', current_date, current_date + 14) RETURNING *",
                (args.customer_id, f"{plan['name']} plan, first month", plan["monthly_price_cents"]),
            )
        ).fetchone()
        assert sub is not None and invoice is not None
        return {
            "customer_id": args.customer_id,
            "previous_plan": customer["plan_tier"],
            "plan": args.plan,
            "monthly_price": money(plan["monthly_price_cents"]),
            "seats": sub["seats"],
            "subscription_status": sub["status"],
            "current_period_end": iso(sub["current_period_end"]),
            "invoice_id": invoice["invoice_id"],
            "invoice_due_on": iso(invoice["due_on"]),
        }

    return await write_once(call, "enable_paid_plan", write)


CHECK_BILLING_STATUS = ToolSpec(
    name="check_billing_status",
    description="A customer's plan, subscription status (trialing, active, past_due, canceled), seats, balance "
    "due, overdue invoices and recent invoices with amounts refunded so far.",
    args=CustomerArgs,
    run=check_billing_status,
    risk=Risk.READ_ONLY,
    timeout_s=5.0,
)

ENABLE_PAID_PLAN = ToolSpec(
    name="enable_paid_plan",
    description="Move a customer to the paid starter or pro plan: updates the plan and subscription and issues the "
    "first month's invoice. Needs a person's approval. Refused for enterprise customers, for overdue "
    "accounts, and when the customer's admin lacks billing.manage.",
    args=EnablePaidPlanArgs,
    run=enable_paid_plan,
    risk=Risk.APPROVAL_REQUIRED,
)
