"""Per-component evals (evals/components): the onboarding classifier alone on its labelled routes and the plan
validator alone on its labelled plans, in-process with the offline model; and the desk snapshot they read is the
seeded desk's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import components
from evals.components import __main__ as cli
from evals.components import classifier, plans
from nodes import classifier as classifier_node
from tests.graphs.harness import OfflineModels, open_pool
from tests.tools.desk import run_tool


def test_the_labelled_sets_are_large_enough_and_cover_every_outcome():
    routes = components.labelled("routes.yaml", {"request", "customer", "route"})
    assert len(routes) >= 30
    assert {item["route"] for item in routes} == {"billing_review", "enterprise_setup", "standard_setup"}
    assert {item["customer"] for item in routes} == set(components.desk())
    labelled_plans = components.labelled(
        "plans.yaml", {"name", "customer", "valid", "steps"}, {"fix", "permissions", "billing_error"}
    )
    assert {item["valid"] for item in labelled_plans} == {True, False}


async def test_the_classifier_is_scored_on_every_labelled_route():
    result = await classifier.evaluate(OfflineModels())
    assert result.total == len(components.labelled("routes.yaml", {"request", "customer", "route"}))
    assert sum(sum(row.values()) for row in result.confusion.values()) == result.total
    assert result.accuracy == round(result.passed / result.total, 4)
    assert result.accuracy >= 0.9  # the offline model follows the classifier's keyword rules


async def test_a_classifier_that_always_takes_the_standard_route_is_caught(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(classifier_node, "chosen", lambda _reply: "standard_setup")
    result = await classifier.evaluate(OfflineModels())
    assert result.confusion["billing_review"] == {"standard_setup": 6}
    assert result.confusion["enterprise_setup"] == {"standard_setup": 10}
    assert result.accuracy < 0.6


def test_the_plan_validator_agrees_with_every_label_and_offers_the_fix():
    result = plans.evaluate()
    assert (result.passed, result.total) == (result.total, len(result.cases)), [c for c in result.cases if not c.passed]
    [wrong_region] = [case for case in result.cases if case.name == "globex-wrong-region"]
    assert "use region=eu" in wrong_region.detail


def test_a_validator_letting_a_bad_plan_through_is_caught(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(plans, "step_problem", lambda *_args: None)
    result = plans.evaluate()
    assert result.confusion["invalid"] == {"valid": 12}
    assert result.passed == 5


def test_a_label_with_an_unread_field_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "routes.yaml").write_text(
        "- {request: Check it, then set it up, customer: cus_acme, route: standard_setup}\n"
    )
    monkeypatch.setattr(components, "HERE", tmp_path)
    with pytest.raises(components.LabelError, match="then set it up"):
        components.labelled("routes.yaml", {"request", "customer", "route"})


def test_python_m_evals_components_writes_its_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| classifier |" in printed and "| plan_validator | 17 | 17 | 100.0 % |" in printed
    assert (tmp_path / "components.md").read_text() == printed.removesuffix("\n")
    assert [r["component"] for r in json.loads((tmp_path / "components.json").read_text())] == [
        "classifier",
        "plan_validator",
    ]


async def test_the_desk_snapshot_is_what_the_seeded_desk_returns(database_url: str):
    snapshot = components.desk()
    async with open_pool(database_url) as pool:
        for customer, results in snapshot.items():
            for tool in results:
                args = {"query": customer} if tool == "lookup_customer" else {"customer_id": customer}
                assert json.loads(json.dumps(await run_tool(pool, tool, **args), default=str)) == results[tool]
