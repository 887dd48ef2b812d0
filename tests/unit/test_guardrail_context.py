"""What a run may set in keel's graph Context and what only the server sets: the no-progress limits come from the
run's (or its assistant's) context like `max_steps`; the tools' amounts (KEEL_TWO_PERSON_REFUND_USD) only from the
server's settings, so a requester cannot lift the two-person rule from their own run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from nodes.context import Context
from server.runs.context import context_builder
from server.settings import RunSettings, Settings, SettingsError
from tools.limits import Limits

GRAPH = cast(Any, SimpleNamespace(context_schema=Context))


def test_a_run_sets_the_no_progress_limits_but_not_the_tool_limits():
    build = context_builder(cast(Any, None), cast(Any, None), Limits(two_person_refund_usd=100))
    requested = {"max_repeated_calls": 5, "max_idle_turns": 7, "limits": {"two_person_refund_usd": 10**9}}
    context = build(GRAPH, requested)
    assert (context.max_repeated_calls, context.max_idle_turns) == (5, 7)
    assert context.limits == Limits(two_person_refund_usd=100)
    assert build(GRAPH, None).max_repeated_calls == Context.max_repeated_calls


def test_the_two_person_amount_is_a_setting(monkeypatch: pytest.MonkeyPatch):
    assert RunSettings().tool_limits == Limits(two_person_refund_usd=1_000.0)
    monkeypatch.setenv("KEEL_TWO_PERSON_REFUND_USD", "250")
    assert RunSettings().tool_limits == Limits(two_person_refund_usd=250.0)
    monkeypatch.setenv("KEEL_TWO_PERSON_REFUND_USD", "-1")
    with pytest.raises(SettingsError, match=r"^invalid setting KEEL_TWO_PERSON_REFUND_USD"):
        Settings()
