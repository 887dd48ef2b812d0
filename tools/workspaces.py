"""Workspaces: a customer's separate spaces (teams, environments), limited in number by their plan."""

from __future__ import annotations

from typing import Literal

from psycopg import errors
from pydantic import Field

from tools.db import Connection, Row, iso, missing_permission, require_customer
from tools.ledger import write_once
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec


class CreateWorkspaceArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")
    name: str = Field(min_length=1, max_length=80, description="The new workspace's name, unique for the customer")
    region: Literal["us", "eu", "apac"] | None = Field(
        default=None, description="Where its data lives; leave out for the customer's own region"
    )


async def _check_room(conn: Connection, customer: Row) -> None:
    row = await (
        await conn.execute(
            "SELECT p.max_workspaces, (SELECT count(*) FROM desk.workspaces w WHERE w.customer_id = %s) AS used"
            " FROM desk.plans p WHERE p.plan_id = %s",
            (customer["customer_id"], customer["plan_tier"]),
        )
    ).fetchone()
    assert row is not None  # plan_tier is a foreign key
    if row["max_workspaces"] is not None and row["used"] >= row["max_workspaces"]:
        raise ToolError(
            f"{customer['customer_id']} already has {row['used']} of the {row['max_workspaces']} workspace(s) its "
            f"{customer['plan_tier']} plan allows; a bigger plan (enable_paid_plan) allows more"
        )


async def create_workspace(args: CreateWorkspaceArgs, call: ToolCall) -> Row:
    async def write(conn: Connection) -> Row:
        customer = await require_customer(conn, args.customer_id, lock=True)  # the plan limit is checked under it
        if problem := missing_permission(customer, "workspaces.create"):
            raise ToolError(f"cannot create a workspace: {problem}")
        await _check_room(conn, customer)
        try:
            # A savepoint, so a duplicate name fails this statement only and the error can be reported.
            async with conn.transaction():
                row = await (
                    await conn.execute(
                        "INSERT INTO desk.workspaces (customer_id, name, region) VALUES (%s, %s, %s) RETURNING *",
                        (args.customer_id, args.name, args.region or customer["region"]),
                    )
                ).fetchone()
        except errors.UniqueViolation:
            raise ToolError(
                f"{args.customer_id} already has a workspace named {args.name!r}; pick another name"
            ) from None
        assert row is not None
        return {
            "workspace_id": row["workspace_id"],
            "customer_id": args.customer_id,
            "name": row["name"],
            "region": row["region"],
            "created_at": iso(row["created_at"]),
        }

    return await write_once(call, "create_workspace", write)


CREATE_WORKSPACE = ToolSpec(
    name="create_workspace",
    description="Create a workspace for a customer (in their region unless another is given). Refused when the "
    "name is taken, the plan's workspace limit is reached, or the admin lacks workspaces.create.",
    args=CreateWorkspaceArgs,
    run=create_workspace,
    risk=Risk.IDEMPOTENT_WRITE,
)
