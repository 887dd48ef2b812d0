"""How `keel chat` shows a run paused at its budget (nodes/budget.py) and turns the person's answer into a resume:
`[x]tend` by amounts typed as `model_calls=5 dollars=0.5`, checked here as keel checks them, or `[s]top`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from nodes.budget import answer_problem

Ask = Callable[[str], str]  # input()


def _spend(spend: Any) -> str:
    if not isinstance(spend, dict) or not spend:
        return "-"
    return ", ".join(
        f"{name} {value:g}" if isinstance(value, int | float) else f"{name} {value}" for name, value in spend.items()
    )


def render(value: dict[str, Any], out: TextIO) -> None:
    agent = f" (agent: {value['agent']})" if value.get("agent") else ""
    out.write(f"\nbudget reached{agent}:\n")
    for reached in value.get("exceeded") or []:
        out.write(f"  {reached.get('scope')} {reached.get('limit')}: {reached.get('spent')} of {reached.get('max')}\n")
    spent, left = value.get("spent") or {}, value.get("left") or {}
    for scope in ("run", "thread"):
        out.write(f"  {scope}: spent {_spend(spent.get(scope))}; left {_spend(left.get(scope))}\n")
    if value.get("error"):
        out.write(f"  error: {value['error']}\n")
    out.flush()


def parse_amounts(typed: str) -> dict[str, Any] | str:
    """`model_calls=5 dollars=0.5` as {"model_calls": 5, "dollars": 0.5}, or what is wrong with it."""
    by: dict[str, Any] = {}
    for part in typed.replace(",", " ").split():
        name, _, amount = part.partition("=")
        try:
            number = float(amount)
        except ValueError:
            return f"{part!r} is not name=number"
        by[name.strip()] = int(number) if number.is_integer() else number
    return by or "type at least one, e.g. model_calls=5"


def decision(value: dict[str, Any], ask: Ask, out: TextIO) -> dict[str, Any]:
    render(value, out)
    while True:
        typed = ask("e[x]tend / [s]top? ").strip().lower()[:1]
        if typed == "s":
            reason = ask("reason (Enter: none): ").strip()
            return {"type": "stop", "reason": reason} if reason else {"type": "stop"}
        if typed != "x":
            continue
        by = parse_amounts(ask("extend by (e.g. model_calls=5 dollars=0.5): "))
        answer = {"type": "extend", "by": by}
        problem = by if isinstance(by, str) else answer_problem(answer, value)
        if problem is None:
            return answer
        out.write(f"  {problem}; try again\n")
