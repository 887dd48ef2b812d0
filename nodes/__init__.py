"""keel's agents, one line each. A new support agent is one file in nodes/ (a NodeSpec named SPEC) plus one
line in SUPPORT_WORKERS; the supervisor learns about it from its description and keywords."""

from __future__ import annotations

from nodes import (
    account,
    billing,
    billing_review,
    classifier,
    executor,
    intake,
    knowledge,
    planner,
    provisioning,
    report,
    standard_setup,
)
from nodes.spec import NodeSpec

# The workers the support supervisor delegates to.
SUPPORT_WORKERS: tuple[NodeSpec, ...] = (
    account.SPEC,
    billing.SPEC,
    provisioning.SPEC,
    knowledge.SPEC,
)

# The onboarding graph's agents, by the slot they fill (the parallel checks are in nodes/checks.py).
ONBOARDING_AGENTS: dict[str, NodeSpec] = {
    "intake": intake.SPEC,
    "classifier": classifier.SPEC,
    "standard_setup": standard_setup.SPEC,
    "billing_review": billing_review.SPEC,
    "planner": planner.SPEC,
    "executor": executor.SPEC,
    "report": report.SPEC,
}
