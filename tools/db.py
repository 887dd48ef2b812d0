"""The desk database as tools see it: typed access to the pool handed in through `ToolCall.db`, the
customer look-up every integration starts from, and conversion of rows to JSON-able results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast, overload

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from tools.spec import ToolCall, ToolError

Connection = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]
Row = dict[str, Any]

# Invoices with what has been refunded on each so far (refunds never exceed the invoice amount).
INVOICES_WITH_REFUNDS = (
    "SELECT i.*, (SELECT coalesce(sum(r.amount_cents), 0) FROM desk.refunds r WHERE r.invoice_id = i.invoice_id)"
    " AS refunded_cents FROM desk.invoices i"
)

CUSTOMER_HINT = "look customers up by id (cus_…), email or name with lookup_customer"


def pool(call: ToolCall) -> Pool:
    """The pool from the runtime context (autocommit connections with dict rows)."""
    return cast(Pool, call.db)


async def require_customer(conn: Connection, customer_id: str, *, lock: bool = False) -> Row:
    """The customer's row, or a ToolError the model can act on. `lock` takes the row lock that
    serializes writes for one customer (plan limits and refund totals are checked under it)."""
    query = "SELECT * FROM desk.customers WHERE customer_id = %s"
    row = await (await conn.execute(query + " FOR UPDATE" if lock else query, (customer_id,))).fetchone()
    if row is None:
        raise ToolError(f"no customer with id {customer_id!r}; {CUSTOMER_HINT}")
    return row


@overload
def money(cents: int) -> float: ...
@overload
def money(cents: int | None) -> float | None: ...
def money(cents: int | None) -> float | None:
    """Cents to a USD amount for results (the model reads dollars, the database stores cents)."""
    return None if cents is None else cents / 100


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def missing_permission(customer: Row, permission: str) -> str | None:
    """Why the customer's admin contact may not authorize `permission`, or None when they may."""
    if permission in customer["admin_permissions"]:
        return None
    return (
        f"{customer['admin_name']} <{customer['admin_email']}>, the admin contact of {customer['customer_id']}, "
        f"has role {customer['admin_role']!r} without the {permission!r} permission; ask the customer's account "
        "owner to grant it or to make the request themselves"
    )
