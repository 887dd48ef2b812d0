"""Which run limits a caller gets (issue 14, item 5): keel's defaults under auth only, a setting replaces them, and
the most generous of the caller's permissions' overrides applies, limit by limit. Enforcement over HTTP, with two
API processes: tests/server/runs/test_run_limits.py."""

from __future__ import annotations

from typing import Any

import pytest

from server.runs.limits import DEFAULT_ACTIVE, DEFAULT_PER_MINUTE, Limit, limit_for
from server.settings import RunLimitOverride, RunSettings


def settings(**values: Any) -> RunSettings:
    return RunSettings.model_validate(values)


def test_without_auth_there_is_no_limit_unless_one_is_set():
    assert limit_for(settings(), (), authenticated=False).unlimited
    assert limit_for(settings(KEEL_RUN_LIMIT_ACTIVE=3), (), authenticated=False) == Limit(per_minute=0, active=3)


def test_with_auth_the_defaults_apply_and_a_setting_replaces_them():
    assert limit_for(settings(), (), authenticated=True) == Limit(DEFAULT_PER_MINUTE, DEFAULT_ACTIVE)
    chosen = settings(KEEL_RUN_LIMIT_PER_MINUTE=0, KEEL_RUN_LIMIT_ACTIVE=2)
    assert limit_for(chosen, (), authenticated=True) == Limit(per_minute=0, active=2)


def test_the_most_generous_of_the_callers_permissions_applies_limit_by_limit():
    overrides = {
        "runs:bulk": RunLimitOverride(per_minute=600, active=50),
        "runs:burst": RunLimitOverride(per_minute=0),  # 0: no limit, the most generous of all
        "tier:trial": RunLimitOverride(per_minute=5, active=1),  # a permission may also give less than the default
    }
    base = settings(KEEL_RUN_LIMIT_PER_MINUTE=60, KEEL_RUN_LIMIT_ACTIVE=10, KEEL_RUN_LIMITS_BY_PERMISSION=overrides)
    bulk = limit_for(base, ["runs:bulk", "tier:trial", "unrelated"], authenticated=True)
    assert (bulk.per_minute, bulk.active) == (600, 50)
    assert "KEEL_RUN_LIMITS_BY_PERMISSION for permission 'runs:bulk'" in bulk.per_minute_setting
    burst = limit_for(base, ["runs:burst", "runs:bulk"], authenticated=True)
    assert (burst.per_minute, burst.active) == (0, 50)
    assert "'runs:burst'" in burst.per_minute_setting and "'runs:bulk'" in burst.active_setting
    trial = limit_for(base, ["tier:trial"], authenticated=True)
    assert (trial.per_minute, trial.active) == (5, 1)
    plain = limit_for(base, ["unrelated"], authenticated=True)
    assert plain == Limit(60, 10)


def test_overrides_are_read_from_json(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEEL_RUN_LIMITS_BY_PERMISSION", '{"runs:bulk": {"per_minute": 600, "active": 50}}')
    assert RunSettings().limits_by_permission == {"runs:bulk": RunLimitOverride(per_minute=600, active=50)}
    monkeypatch.setenv("KEEL_RUN_LIMITS_BY_PERMISSION", '{"runs:bulk": {"per_hour": 1}}')
    with pytest.raises(ValueError, match="per_hour"):
        RunSettings()
