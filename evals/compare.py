"""Two (or more) eval runs side by side, e.g. the same suite against two models:

    python -m evals.compare evals/results/<offline stamp> evals/results/<gpt-4o-mini stamp>

reads each folder's report.json (evals/report.py) and prints a markdown table of success, pass^k, latency, tokens
and cost per task, then success per category, then the tasks whose outcome differs between the runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def read(results_dir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((results_dir / "report.json").read_text(encoding="utf-8"))
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    """Each task's passes over attempts without chaos, e.g. "2/3"."""
    return {row["task_id"]: f"{row['passed']}/{row['attempts']}" for row in report["summary"]["tasks"]}


def table(names: Sequence[str], reports: Sequence[dict[str, Any]]) -> str:
    summaries = [report["summary"] for report in reports]
    ks = sorted(set.intersection(*(set(s["pass_k"]) for s in summaries)), key=lambda k: int(k.split("^")[1]))
    lines = [
        _row(["", *names]),
        "|---" * (len(names) + 1) + "|",
        _row(["models", *(", ".join(s.get("models") or []) or "?" for s in summaries)]),
        _row(["success", *(f"{_pct(s['success_rate'])} ({s['passed']}/{s['total']})" for s in summaries)]),
        *(_row([k, *(_pct(s["pass_k"][k]) for s in summaries)]) for k in ks),
        _row(["latency p50 / p95", *(f"{s['latency_p50_s']:g} s / {s['latency_p95_s']:g} s" for s in summaries)]),
        _row(["tokens per task", *(f"{s['tokens_per_task']:g}" for s in summaries)]),
        _row(["cost per task", *(f"${s['cost_per_task']:g}" for s in summaries)]),
        _row(
            [
                "model / tool calls per task",
                *(f"{s['model_calls_per_task']:g} / {s['tool_calls_per_task']:g}" for s in summaries),
            ]
        ),
        _row(["duplicated effects", *(s["duplicated_effects"] for s in summaries)]),
    ]
    categories = sorted({c for s in summaries for c in s["by_category"]})
    lines += ["", _row(["category", *names]), "|---" * (len(names) + 1) + "|"]
    lines += [
        _row([c, *(_pct((s["by_category"].get(c) or {}).get("success_rate")) for s in summaries)]) for c in categories
    ]
    outcomes = [_outcomes(report) for report in reports]
    differing = sorted(t for t in set().union(*outcomes) if len({o.get(t, "-") for o in outcomes}) > 1)
    lines += ["", f"Tasks whose outcome differs: {len(differing)}"]
    if differing:
        lines += ["", _row(["task", *names]), "|---" * (len(names) + 1) + "|"]
        lines += [_row([t, *(o.get(t, "-") for o in outcomes)]) for t in differing]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+", help="results folders, each holding a report.json")
    parser.add_argument("--names", help="comma-separated column names (default: the folder names)")
    args = parser.parse_args(argv)
    names = args.names.split(",") if args.names else [path.name for path in args.results]
    if len(names) != len(args.results):
        parser.error("--names needs one name per results folder")
    print(table(names, [read(path) for path in args.results]), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
