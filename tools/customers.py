"""Customer records: find a customer by id, email or name, and check what their admin contact may do."""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from pydantic import Field

from tools.contact_preferences import preferred_channel
from tools.db import CUSTOMER_HINT, Connection, Row, iso, missing_permission, pool, require_customer
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec

Permission = Literal["billing.manage", "workspaces.create", "sso.configure", "users.invite"]


class LookupCustomerArgs(ToolArgs):
    query: str = Field(
        min_length=1,
        max_length=200,
        description="A customer id (cus_…), an email address (an admin's or anyone's at the customer's domain), "
        "or the company name or part of it",
    )


async def _candidates(conn: Connection, query: str) -> list[Row]:
    params: tuple[str, ...]
    if query.startswith("cus_"):
        sql, params = "SELECT * FROM desk.customers WHERE customer_id = %s", (query,)
    elif "@" in query:
        # The admin's exact address, else anyone writing from the customer's domain.
        domain = query.rsplit("@", 1)[1].lower()
        sql = "SELECT * FROM desk.customers WHERE lower(admin_email) = lower(%s) OR domain = %s ORDER BY customer_id"
        params = (query, domain)
    else:
        # An exact name wins over partial matches ("Acme" must not also match "Acme Labs").
        sql = (
            "SELECT * FROM desk.customers WHERE name ILIKE %s ESCAPE '\\' "
            "ORDER BY lower(name) = lower(%s) DESC, customer_id"
        )
        params = ("%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", query)
    rows = await (await conn.execute(sql, params)).fetchall()
    if len(rows) > 1 and rows[0]["name"].lower() == query.lower():
        return rows[:1]
    return rows


async def lookup_customer(args: LookupCustomerArgs, call: ToolCall) -> Row:
    async with pool(call).connection() as conn:
        rows = await _candidates(conn, args.query)
        if not rows:
            raise ToolError(f"no customer matches {args.query!r}; {CUSTOMER_HINT}")
        if len(rows) > 1:
            names = ", ".join(f"{row['customer_id']} ({row['name']})" for row in rows)
            raise ToolError(f"{len(rows)} customers match {args.query!r}: {names}; use one of these ids")
        customer = rows[0]
        workspaces = await (
            await conn.execute(
                "SELECT workspace_id, name FROM desk.workspaces WHERE customer_id = %s ORDER BY created_at",
                (customer["customer_id"],),
            )
        ).fetchall()
    found: Row = {
        "customer_id": customer["customer_id"],
        "name": customer["name"],
        "domain": customer["domain"],
        "plan": customer["plan_tier"],
        "enterprise": customer["enterprise"],
        "region": customer["region"],
        "admin": {"name": customer["admin_name"], "email": customer["admin_email"], "role": customer["admin_role"]},
        "workspaces": [{"workspace_id": ws["workspace_id"], "name": ws["name"]} for ws in workspaces],
        "customer_since": iso(customer["created_at"].astimezone(UTC).date()),  # the same whatever the server's TimeZone
    }
    if channel := await preferred_channel(call, customer["customer_id"]):
        found["preferred_channel"] = channel  # remembered in an earlier conversation
    return found


class CheckAdminPermissionsArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")
    permission: Permission | None = Field(
        default=None, description="A permission to check; leave out to list all of the admin's permissions"
    )


async def check_admin_permissions(args: CheckAdminPermissionsArgs, call: ToolCall) -> Row:
    async with pool(call).connection() as conn:
        customer = await require_customer(conn, args.customer_id)
    result: Row = {
        "customer_id": customer["customer_id"],
        "admin": {"name": customer["admin_name"], "email": customer["admin_email"], "role": customer["admin_role"]},
        "permissions": sorted(customer["admin_permissions"]),
    }
    if args.permission is not None:
        problem = missing_permission(customer, args.permission)
        result["permission"] = args.permission
        result["allowed"] = problem is None
        if problem is not None:
            result["reason"] = problem
    return result


LOOKUP_CUSTOMER = ToolSpec(
    name="lookup_customer",
    description="Find a customer by id (cus_…), email address or company name. Returns the customer's id, plan, "
    "region, enterprise flag, admin contact and workspaces. Use the returned id with every other tool.",
    args=LookupCustomerArgs,
    run=lookup_customer,
    risk=Risk.READ_ONLY,
    timeout_s=5.0,
)

CHECK_ADMIN_PERMISSIONS = ToolSpec(
    name="check_admin_permissions",
    description="What the customer's admin contact is allowed to authorize (billing.manage, workspaces.create, "
    "sso.configure, users.invite). Check before creating workspaces or changing plans for them.",
    args=CheckAdminPermissionsArgs,
    run=check_admin_permissions,
    risk=Risk.READ_ONLY,
    timeout_s=5.0,
)
