"""How `keel chat` shows a run stopped at an approval and turns the person's answer into a resume value.

keel's payload (`tool`, `args`, `reason`, …) is answered in keel's vocabulary (accept / edit / reject / respond).
An interrupt carrying only LangChain's `action_requests` (one per proposed call) is answered with one
`{"decisions": [...]}` list in order, offering what its `review_configs` allow. Any other interrupt value is
shown as JSON and answered with what the person types. The result maps each interrupt id to its answer, the
shape keel accepts for one pending approval or several.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from nodes.budget import is_budget
from server import chat_budget
from server.chat_render import compact

Ask = Callable[[str], str]  # input(): raises EOFError / KeyboardInterrupt when the person leaves

CHOICES = {"a": "approve", "e": "edit", "r": "reject", "s": "respond"}
PROMPT = {"approve": "[a]pprove", "edit": "[e]dit", "reject": "[r]eject", "respond": "re[s]pond"}


def resume_map(interrupts: list[dict[str, Any]], ask: Ask, out: TextIO) -> dict[str, Any]:
    """One answer per pending interrupt, asked in order."""
    return {str(item["id"]): answer(item.get("value"), ask, out) for item in interrupts}


def answer(value: Any, ask: Ask, out: TextIO) -> Any:
    if is_budget(value):
        return chat_budget.decision(value, ask, out)
    requests = value.get("action_requests") if isinstance(value, dict) else None
    several = isinstance(requests, list) and len(requests) > 1
    if isinstance(value, dict) and "tool" in value and isinstance(value.get("args"), dict) and not several:
        return keel_decision(value, ask, out)
    if isinstance(value, dict) and isinstance(requests, list):
        return {"decisions": langchain_decisions(value, ask, out)}
    out.write(f"\nthe run is waiting for input: {compact(value)}\n")
    typed = ask("resume value (JSON, or text): ")
    try:
        return json.loads(typed)
    except json.JSONDecodeError:
        return typed


def render(name: str, args: dict[str, Any], out: TextIO, *, agent: str = "", reason: str = "", notes: str = "") -> None:
    by = f" (agent: {agent})" if agent else ""
    out.write(f"\napproval needed: {name}{by}\n")
    for key, value in args.items():
        out.write(f"  {key}: {compact(value)}\n")
    if reason:
        out.write(f"  why: {reason}\n")
    if notes:
        out.write(notes)
    out.flush()


def keel_notes(value: dict[str, Any]) -> str:
    """What else keel's payload says: why the last answer was refused, who may decide, what outside text the agent
    had read."""
    notes = f"  error: {value['error']}\n" if value.get("error") else ""
    if value.get("two_person"):
        notes += f"  needs a second person: not {value.get('requested_by') or 'the requester'}\n"
    return notes + untrusted_notes(value)


def untrusted_notes(value: dict[str, Any]) -> str:
    """The untrusted-content flag (nodes/untrusted.py): each source read, and what in it looked like orders."""
    read = [r for r in value.get("untrusted") or [] if isinstance(r, dict)]
    if not read:
        return ""
    sources = ", ".join(str(r.get("source")) for r in read)
    notes = f"  UNTRUSTED CONTENT: proposed after reading {sources}\n"
    for r in read:
        for finding in r.get("injection") or []:
            notes += f"    possible prompt injection in {r.get('source')} ({finding.get('pattern')}): "
            notes += f"{compact(finding.get('excerpt'))}\n"
    return notes


def choose(allowed: list[str], ask: Ask) -> str:
    prompt = " / ".join(PROMPT[kind] for kind in allowed) + "? "
    while True:
        typed = ask(prompt).strip().lower()
        kind = CHOICES.get(typed[:1]) if typed else None
        if kind in allowed:
            return kind


def keel_decision(value: dict[str, Any], ask: Ask, out: TextIO) -> dict[str, Any]:
    render(
        str(value["tool"]),
        value["args"],
        out,
        agent=str(value.get("agent") or ""),
        reason=str(value.get("reason") or ""),
        notes=keel_notes(value),
    )
    kind = choose(["approve", "edit", "reject", "respond"], ask)
    if kind == "approve":
        return {"type": "accept"}
    if kind == "edit":
        return {"type": "edit", "args": edit_args(value["args"], ask, out)}
    if kind == "reject":
        return {"type": "reject", "reason": ask("reason: ")}
    return {"type": "respond", "message": ask("message to the agent: ")}


def langchain_decisions(value: dict[str, Any], ask: Ask, out: TextIO) -> list[dict[str, Any]]:
    configs = {c.get("action_name"): c for c in value.get("review_configs") or [] if isinstance(c, dict)}
    decisions: list[dict[str, Any]] = []
    if flag := untrusted_notes(value):  # keel's batch payload: once for the turn's calls
        out.write(f"\n{flag}")
    for request in value["action_requests"]:
        name = str(request.get("name"))
        args = request.get("args") if isinstance(request.get("args"), dict) else {}
        render(name, args, out, reason=str(request.get("description") or ""))
        allowed = [k for k in configs.get(name, {}).get("allowed_decisions") or PROMPT if k in PROMPT]
        kind = choose(allowed or ["approve", "edit", "reject"], ask)
        if kind == "approve":
            decisions.append({"type": "approve"})
        elif kind == "edit":
            decisions.append({"type": "edit", "edited_action": {"name": name, "args": edit_args(args, ask, out)}})
        elif kind == "reject":
            decisions.append({"type": "reject", "message": ask("reason: ")})
        else:
            decisions.append({"type": "respond", "message": ask("message to the agent: ")})
    return decisions


def edit_args(args: dict[str, Any], ask: Ask, out: TextIO) -> dict[str, Any]:
    """New arguments: the fields to change as a JSON object (merged over the proposed ones), or (an empty line)
    field by field, Enter keeping a value. keel validates them again against the tool's schema on resume."""
    while True:
        typed = ask("fields to change, as JSON (Enter: field by field): ").strip()
        if not typed:
            return {key: edit_field(key, value, ask, out) for key, value in args.items()}
        try:
            parsed = json.loads(typed)
        except json.JSONDecodeError as exc:
            out.write(f"  not JSON ({exc.msg}); try again\n")
            continue
        if isinstance(parsed, dict):
            return {**args, **parsed}
        out.write('  a JSON object, please, e.g. {"amount": 2}\n')


def edit_field(key: str, value: Any, ask: Ask, out: TextIO) -> Any:
    while True:
        typed = ask(f"  {key} [{compact(value)}]: ").strip()
        if not typed:
            return value
        if isinstance(value, str):  # a text field keeps what was typed, even `123`
            return typed
        try:
            return json.loads(typed)
        except json.JSONDecodeError:
            if value is None:
                return typed
            out.write(f"  {key} takes JSON (a number, true/false, a list, a quoted string); try again\n")
