"""A customer's preferred contact channel, remembered across threads in LangGraph's long-term store (the one a
graph gets as `runtime.store`; keel gives its PostgreSQL store to every graph). `lookup_customer` shows it, so
any later conversation about the customer starts from it."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.store.base import BaseStore
from pydantic import Field

from tools.db import CUSTOMER_HINT, pool, require_customer
from tools.spec import Risk, ToolArgs, ToolCall, ToolError, ToolSpec

Channel = Literal["email", "phone", "chat"]
KEY = "preferred_channel"


def namespace(customer_id: str) -> tuple[str, ...]:
    return ("customers", customer_id)


class RememberPreferredChannelArgs(ToolArgs):
    customer_id: str = Field(description="The customer's id (cus_…)")
    channel: Channel = Field(description="How the customer wants to be contacted")


def _store(call: ToolCall) -> BaseStore:
    if call.store is None:
        raise ToolError("this graph runs without a store, so nothing can be remembered across conversations")
    store: BaseStore = call.store
    return store


async def remember_preferred_channel(args: RememberPreferredChannelArgs, call: ToolCall) -> dict[str, Any]:
    async with pool(call).connection() as conn:
        await require_customer(conn, args.customer_id)
    value = {"channel": args.channel, "noted_in_thread": call.thread_id}
    await _store(call).aput(namespace(args.customer_id), KEY, value)
    return {"customer_id": args.customer_id, KEY: args.channel}


async def preferred_channel(call: ToolCall, customer_id: str) -> str | None:
    """The remembered channel, or None (none remembered, or no store)."""
    if call.store is None:
        return None
    item = await call.store.aget(namespace(customer_id), KEY)
    channel = item.value.get("channel") if item is not None else None
    return channel if isinstance(channel, str) else None


REMEMBER_PREFERRED_CHANNEL = ToolSpec(
    name="remember_preferred_channel",
    description="Remember how a customer wants to be contacted (email, phone or chat), for every later "
    f"conversation; {CUSTOMER_HINT}",
    args=RememberPreferredChannelArgs,
    run=remember_preferred_channel,
    risk=Risk.IDEMPOTENT_WRITE,  # the same call sets the same value again
)
