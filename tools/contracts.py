"""Enterprise contracts: the negotiated terms (seats, SLA, payment terms, renewal)."""

from __future__ import annotations

from pydantic import Field

from tools.db import Row, iso, money, pool, require_customer
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec


class LookupContractTermsArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…), from lookup_customer")


async def lookup_contract_terms(args: LookupContractTermsArgs, call: ToolCall) -> Row:
    async with pool(call).connection() as conn:
        customer = await require_customer(conn, args.customer_id)
        row = await (
            await conn.execute("SELECT * FROM desk.contracts WHERE customer_id = %s", (args.customer_id,))
        ).fetchone()
    if row is None:
        raise ToolError(
            f"{args.customer_id} has no enterprise contract: it is on the self-serve {customer['plan_tier']} plan "
            "(search_docs 'plans' describes its terms)"
        )
    return {
        "contract_id": row["contract_id"],
        "customer_id": args.customer_id,
        "seats": row["seats"],
        "sla_uptime": row["sla_uptime"],
        "sla_response": row["sla_response"],
        "payment_terms": row["payment_terms"],
        "annual_value": money(row["annual_value_cents"]),
        "currency": "USD",
        "start_date": iso(row["start_date"]),
        "renewal_date": iso(row["renewal_date"]),
        "auto_renew": row["auto_renew"],
        "notice_days": row["notice_days"],
    }


LOOKUP_CONTRACT_TERMS = ToolSpec(
    name="lookup_contract_terms",
    description="An enterprise customer's contract: seats, SLA (uptime and response times), payment terms, "
    "annual value, renewal date, auto-renewal and the notice period to cancel.",
    args=LookupContractTermsArgs,
    run=lookup_contract_terms,
    risk=Risk.READ_ONLY,
    timeout_s=5.0,
)
