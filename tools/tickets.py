"""Support tickets: hand a problem to the human support team."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.db import Connection, Row, iso, require_customer
from tools.ledger import write_once
from tools.spec import Risk, ToolArgs, ToolCall, ToolSpec


class OpenTicketArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")
    subject: str = Field(min_length=3, max_length=200, description="One line saying what is wrong or needed")
    body: str = Field(min_length=1, max_length=5000, description="The details the support team needs")
    priority: Literal["low", "normal", "high", "urgent"] = Field(
        default="normal", description="urgent only when the customer cannot work at all"
    )


async def open_ticket(args: OpenTicketArgs, call: ToolCall) -> Row:
    async def write(conn: Connection) -> Row:
        await require_customer(conn, args.customer_id)
        row = await (
            await conn.execute(
                "INSERT INTO desk.tickets (customer_id, subject, body, priority) VALUES (%s, %s, %s, %s) RETURNING *",
                (args.customer_id, args.subject, args.body, args.priority),
            )
        ).fetchone()
        assert row is not None
        return {
            "ticket_id": row["ticket_id"],
            "customer_id": args.customer_id,
            "subject": row["subject"],
            "priority": row["priority"],
            "status": row["status"],
            "created_at": iso(row["created_at"]),
        }

    return await write_once(call, "open_ticket", write)


OPEN_TICKET = ToolSpec(
    name="open_ticket",
    description="Open a support ticket for a customer, for the human support team to follow up.",
    args=OpenTicketArgs,
    run=open_ticket,
    risk=Risk.IDEMPOTENT_WRITE,
)
