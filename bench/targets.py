"""The issue's targets, checked against one run's results: (name, the figure, the limit, holds)."""

from __future__ import annotations

from typing import Any

Check = tuple[str, str, str, bool]


def check(results: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    floor, served = results.get("floor"), results.get("served")
    if floor and served:
        c1, floor_c1 = served["c1"], floor["c1"]
        ratio = c1["run"]["p50_ms"] / floor_c1["p50_ms"]
        checks.append(("c1 p50 run latency ≤ 2 x floor", f"{ratio:.2f} x", "2 x", ratio <= 2))
        first = c1["first_event"]["p50_ms"]
        checks.append(("c1 p50 time to first event ≤ 10 ms", f"{first:.1f} ms", "10 ms", first <= 10))
        c20 = served["c20"]
        rate, errors = c20["runs_per_s"], c20["errors"]
        checks.append(
            (
                f"c20 ≥ 60 runs/s for {c20['duration_s']:.0f} s, no errors",
                f"{rate:.1f} runs/s, {errors} errors",
                "60 runs/s, 0 errors, 60 s",
                rate >= 60 and errors == 0 and c20["duration_s"] >= 60,
            )
        )
    if streaming := results.get("streaming"):
        cost = streaming["client_cost_pct"]
        checks.append(("streaming client adds ≤ 10 % to the run", f"{cost:+.1f} %", "10 %", cost <= 10))
    if storage := results.get("storage"):
        # Issue 18 restates "bytes(200) ≤ 4 x bytes(50)" as linear growth (4.02 x is +0.5 % per message).
        change = storage["keel"]["marginal_change_pct"]
        checks.append(("bytes per message, 50→200 vs 0→50, within 1 %", f"{change:+.2f} %", "±1 %", abs(change) <= 1))
        if log := storage.get("event_log"):
            over = log["log_over_input"]
            checks.append(
                (
                    "event log of a 1 MB-input run ≤ 1.5 x its input, replay exact",
                    f"{over:.2f} x" + ("" if log["replay_exact"] else ", replay NOT exact"),
                    "1.5 x",
                    over <= 1.5 and log["replay_exact"],
                )
            )
    if offline := results.get("offline"):
        worst, shape = offline["worst_ms"], offline["worst_shape"]
        checks.append(
            ("offline model answers a 1 MB message < 1 s", f"{worst:.0f} ms ({shape})", "1000 ms", worst < 1000)
        )
    return checks
