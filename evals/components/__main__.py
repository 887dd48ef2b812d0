"""`python -m evals.components [--out DIR]`: the classifier and the plan validator, each alone on its labelled set."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.components import ComponentResult, classifier, plans
from server.models.factory import ModelFactory
from server.settings import get_settings


def run() -> list[ComponentResult]:
    models = ModelFactory(get_settings().model)
    return [asyncio.run(classifier.evaluate(models)), plans.evaluate()]


def markdown(results: Sequence[ComponentResult]) -> str:
    lines = ["# Component evals", "", "| component | passed | total | accuracy |", "|---|---|---|---|"]
    lines += [f"| {r.component} | {r.passed} | {r.total} | {r.accuracy * 100:.1f} % |" for r in results]
    for result in results:
        lines += ["", f"## {result.component}: expected → got", ""]
        names = sorted({got for row in result.confusion.values() for got in row} | set(result.confusion))
        lines += ["| expected \\ got | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        lines += [
            f"| {expected} | " + " | ".join(str(result.confusion[expected].get(n, 0)) for n in names) + " |"
            for expected in sorted(result.confusion)
        ]
        if failed := [case for case in result.cases if not case.passed]:
            lines += ["", "| case | expected | got | detail |", "|---|---|---|---|"]
            lines += [f"| {c.name} | {c.expected} | {c.got} | {c.detail.replace('|', '/')[:200]} |" for c in failed]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.components", description=__doc__)
    parser.add_argument("--out", type=Path, help="write components.md and components.json to this folder")
    args = parser.parse_args(argv)
    results = run()
    text = markdown(results)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "components.md").write_text(text, encoding="utf-8")
        payload = [r.model_dump(mode="json") for r in results]
        (args.out / "components.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
