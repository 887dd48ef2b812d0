"""One run's results as markdown tables (bench/results/latest.md); the JSON file holds every figure."""

from __future__ import annotations

from typing import Any

from bench.targets import check


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _latency_tables(results: dict[str, Any]) -> list[str]:
    """The floor and the served runs, whichever were measured (`--only`), and their ratios when both were."""
    floor, served = results.get("floor"), results.get("served")
    if not (floor or served):
        return []
    lines = [
        "### 5-node linear graph: in-process floor vs served by keel",
        "",
        _row("", "runs/s", "p50 run ms", "p95 run ms", "p50 first event ms", "p95 first event ms", "errors"),
        _row(*["---"] * 7),
    ]
    for level in ("c1", "c20"):
        f = floor[level] if floor else None
        s = served[level] if served else None
        if f:
            lines.append(_row(f"floor {level}", f["runs_per_s"], f["p50_ms"], f["p95_ms"], "-", "-", 0))
        if s:
            run, first = s["run"], s["first_event"]
            lines.append(
                _row(
                    f"served {level}",
                    s["runs_per_s"],
                    run["p50_ms"],
                    run["p95_ms"],
                    first["p50_ms"],
                    first["p95_ms"],
                    s["errors"],
                )
            )
        if f and s:
            lines.append(
                _row(
                    f"served / floor {level}",
                    f"{s['runs_per_s'] / f['runs_per_s']:.2f}",
                    f"{s['run']['p50_ms'] / f['p50_ms']:.2f}",
                    f"{s['run']['p95_ms'] / f['p95_ms']:.2f}",
                    "",
                    "",
                    "",
                )
            )
    lines.append("")
    if served:
        lines += [f"Thread creation (not in run latency), c1: p50 {served['c1']['thread_create']['p50_ms']} ms.", ""]
    return lines


def _streaming_table(streaming: dict[str, Any]) -> list[str]:
    w, wo = streaming["run_with_client"], streaming["run_without_client"]
    return [
        "### `support` run streaming a long answer",
        "",
        f"Request: `{streaming['request']}` — final answer {streaming['answer_tokens']} tokens, "
        f"{streaming['tokens_streamed_per_run']} token events per run (the worker agent's answer streams too).",
        "",
        _row("", "p50 run ms", "p95 run ms", "n"),
        _row("---", "---", "---", "---"),
        _row("client attached (messages-tuple)", w["p50_ms"], w["p95_ms"], w["n"]),
        _row("no client", wo["p50_ms"], wo["p95_ms"], wo["n"]),
        "",
        f"Client cost: {streaming['client_cost_pct']:+.1f} % (p50). Token throughput at the client: "
        f"{streaming['tokens_per_s']} tokens/s.",
        "",
    ]


def _storage_table(storage: dict[str, Any]) -> list[str]:
    lines = [
        "### Storage of one thread (bytes stored, after compression)",
        "",
        _row("state", "messages", "checkpoints", "blobs", "writes", "total", "history entries", "get_state ms"),
        _row(*["---"] * 8),
    ]
    for variant in ("langgraph_default", "keel"):
        for count in ("50", "200"):
            r = storage[variant][count]
            lines.append(
                _row(
                    variant,
                    count,
                    r["checkpoints"],
                    r["blobs"],
                    r["writes"],
                    r["total"],
                    r["history_entries"],
                    r["get_state_ms"],
                )
            )
        lines.append(_row(variant, "200 / 50", "", "", "", f"{storage[variant]['ratio']} x", "", ""))
    if log := storage.get("event_log"):
        lines += [
            "",
            f"Event log of one run with a {log['input_bytes'] / 1e6:.1f} MB input message ({log['events']} events): "
            f"its events carry {log['sent_bytes']:,} bytes, its rows store {log['raw_bytes']:,} "
            f"({log['log_over_input']} x the input; {log['stored_bytes']:,} after compression); "
            f"replay exact: {'yes' if log['replay_exact'] else 'NO'}.",
        ]
    return [*lines, ""]


def _offline_table(offline: dict[str, Any]) -> list[str]:
    lines = [
        f"### Offline model answering a {offline['message_bytes'] / 1e6:g} MB message (in-process, median)",
        "",
        _row("message", "invoke ms", "stream ms", "n"),
        _row(*["---"] * 4),
    ]
    lines += [_row(name, r["invoke_ms"], r["stream_ms"], r["n"]) for name, r in offline["shapes"].items()]
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"## keel bench — {meta['started_at']} ({'quick' if meta['quick'] else 'full'} run)",
        "",
        f"{meta['cpus']} CPUs, {meta['python']}, PostgreSQL: {meta['postgres']}. Offline model, no latency.",
        "",
        *_latency_tables(results),
    ]
    if streaming := results.get("streaming"):
        lines += _streaming_table(streaming)
    if resume := results.get("resume"):
        first, run = resume["first_event"], resume["run"]
        lines += [
            "### Resume (`command: {resume}` on an interrupted thread)",
            "",
            f"Request to first event: p50 {first['p50_ms']} ms, p95 {first['p95_ms']} ms; "
            f"to end of stream: p50 {run['p50_ms']} ms (n={first['n']}).",
            "",
        ]
    if storage := results.get("storage"):
        lines += _storage_table(storage)
    if offline := results.get("offline"):
        lines += _offline_table(offline)
    lines += ["### Targets", "", _row("target", "measured", "limit", "holds"), _row(*["---"] * 4)]
    lines += [_row(name, got, limit, "yes" if ok else "**no**") for name, got, limit, ok in check(results)]
    return "\n".join(lines) + "\n"
