"""Amounts a deployment sets for its tools. Tools never read the environment: the server reads keel's settings and
hands these in (through the graph's `Context.limits`, and to the approval checks it runs itself), so the payload a
person sees and the check on their decision use the same values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Limits:
    # KEEL_TWO_PERSON_REFUND_USD: from this refund amount on (USD), the decider must not be the run's requester.
    two_person_refund_usd: float = 1_000.0
