"""The tool-argument policies (tools/policies.py) on the seeded desk: each refuses with the reason the model will
read, reads the desk only, and lets a valid call through; every policy names a registered tool and a check that
accepts its parameters."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from tests.tools.desk import count, tool_call
from tools import TOOLS
from tools.policies import POLICIES


async def refusals(desk: Any, tool: str, **arguments: Any) -> list[str | None]:
    args = TOOLS[tool].args.model_validate(arguments)
    return [await policy.refusal(args, tool_call(desk)) for policy in POLICIES[tool]]


REFUND = {"customer_id": "cus_acme", "invoice_id": "inv_acme_2026_10", "reason": "Goodwill"}  # $149 left of $199


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"amount": 150}, r"only 149\.00 USD left to refund \(50\.00 of 199\.00 already refunded\)"),
        ({"amount": 5, "customer_id": "cus_initech", "invoice_id": "inv_initech_2026_10"}, "is overdue, not paid"),
        ({"amount": 5, "invoice_id": "inv_tyrell_2026_11"}, "cus_acme has no invoice 'inv_tyrell_2026_11'"),
        ({"amount": 1.005}, "more than two decimals"),
    ],
)
async def test_a_refund_the_invoice_cannot_take_is_refused_with_the_reason(desk, arguments, reason):
    [why] = await refusals(desk, "issue_refund", **(REFUND | arguments))
    assert why is not None
    assert re.search(reason, why), why
    assert await count(desk, "SELECT count(*) FROM desk.refunds") == 1  # the seeded ref_0001: nothing written
    assert await count(desk, "SELECT count(*) FROM desk.tool_effects") == 0


async def test_what_is_left_passes(desk):
    assert await refusals(desk, "issue_refund", **(REFUND | {"amount": 149})) == [None]


def test_every_policy_names_a_tool_and_fits_its_check():
    for tool, policies in POLICIES.items():
        assert tool in TOOLS
        for policy in policies:
            inspect.signature(policy.check).bind(TOOLS[tool].args, None, **policy.params)  # (args, call, **params)
