"""`python -m evals.compare A B`: two runs' reports side by side (success, pass^k, latency, tokens, cost, per category,
and the tasks whose outcome differs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import compare, report
from evals.records import Observed
from tests.evals.attempts import REFUND, good_refund


def run(folder: Path, model: str, answers: list[str], cost: float) -> None:
    attempts: list[Observed] = []
    for repeat, answer in enumerate(answers):
        story = good_refund()
        story.repeat = repeat
        story.usage = {"model_calls": 4, "tool_calls": 2, "total_tokens": 800, "cost": cost, "models": {model: {}}}
        attempts.append(story.observed(answer=answer, latency_s=2.0 if model == "offline" else 6.0))
    report.write(folder, [REFUND], attempts)


def test_two_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = "Refunded $20 of inv_acme_2026_11; nothing else changed."
    run(tmp_path / "offline", "offline", [good, good], 0.0)
    run(tmp_path / "mini", "gpt-4o-mini", [good, "Done."], 0.0012)
    assert compare.main([str(tmp_path / "offline"), str(tmp_path / "mini"), "--names", "offline,gpt-4o-mini"]) == 0
    printed = capsys.readouterr().out
    assert "| models | offline | gpt-4o-mini |" in printed
    assert "| success | 100.0 % (2/2) | 50.0 % (1/2) |" in printed
    assert "| pass^2 | 100.0 % | 0.0 % |" in printed
    assert "| latency p50 / p95 | 2 s / 2 s | 6 s / 6 s |" in printed
    assert "| cost per task | $0 | $0.0012 |" in printed
    assert "| refunds | 100.0 % | 50.0 % |" in printed
    assert "| refund-partial-acme | 2/2 | 1/2 |" in printed


def test_names_must_match_the_folders(tmp_path: Path):
    with pytest.raises(SystemExit):
        compare.main([str(tmp_path), "--names", "a,b"])
