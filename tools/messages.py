"""External messages: email to a customer's admin contact, written to the outbox (delivery is not keel's)."""

from __future__ import annotations

from pydantic import Field

from tools.db import Connection, Row, iso, require_customer
from tools.ledger import write_once
from tools.spec import Risk, ToolArgs, ToolCall, ToolSpec


class SendExternalMessageArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…); the email goes to their admin contact")
    subject: str = Field(min_length=3, max_length=200, description="The email's subject line")
    body: str = Field(min_length=1, max_length=10_000, description="The email's text, as the customer will read it")


async def send_external_message(args: SendExternalMessageArgs, call: ToolCall) -> Row:
    async def write(conn: Connection) -> Row:
        # Only to the address on record: the model never chooses where customer data goes.
        customer = await require_customer(conn, args.customer_id)
        row = await (
            await conn.execute(
                "INSERT INTO desk.outbox (customer_id, to_address, subject, body) VALUES (%s, %s, %s, %s) RETURNING *",
                (args.customer_id, customer["admin_email"], args.subject, args.body),
            )
        ).fetchone()
        assert row is not None
        return {
            "message_id": row["message_id"],
            "customer_id": args.customer_id,
            "to": row["to_address"],
            "subject": row["subject"],
            "status": row["status"],
            "queued_at": iso(row["created_at"]),
        }

    return await write_once(call, "send_external_message", write)


SEND_EXTERNAL_MESSAGE = ToolSpec(
    name="send_external_message",
    description="Email the customer's admin contact (the address on record). Needs a person's approval; the "
    "text is sent as written, so write it for the customer.",
    args=SendExternalMessageArgs,
    run=send_external_message,
    risk=Risk.APPROVAL_REQUIRED,
)
