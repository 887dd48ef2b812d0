"""Prompt-injection heuristics: does outside text (a knowledge-base article, a customer's note) read like orders to
the agent rather than like data? A documented, deliberately small set of patterns, each with a name that ends up in
approval payloads, logs and the `injection` guardrail's events. A match does not block anything (an approval still
decides every risky call); it tells the person deciding that the text the agent read tried to steer it.

The patterns (case-insensitive):

- `ignore_instructions`: "ignore / disregard / forget / override (all) (the) previous / prior / above / earlier /
  system instructions / rules / prompts"
- `new_role`: "you are now", "from now on you", "act as", "pretend to be / you are", "new instructions:"
- `system_prompt`: "system prompt", "developer message", "your (hidden) instructions", "reveal your prompt"
- `role_tag`: chat-template and role-play markers: `<system>`, `</assistant>`, `<|im_start|>`, `[INST]`, `<<SYS>>`,
  a line starting "system:" / "assistant:" / "### instruction"
- `concealment`: "do not / don't tell / inform / mention ... the user / customer", "without telling", "keep this
  (a) secret"
- `tool_call`: text shaped like a tool call: a keel tool's name followed by "(" or quoted as a JSON "name",
  "tool_calls" / "function_call" keys, `<tool_call>` / `<function_call>` tags

Every pattern runs in time linear in its input (bounded repetitions, no nested quantifiers): the text is untrusted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from typing_extensions import TypedDict

EXCERPT = 80  # characters of the matched text kept in a finding


class Finding(TypedDict):
    pattern: str  # one of PATTERNS' names
    excerpt: str  # the text that matched, shortened


def _tool_call_pattern(tool_names: Iterable[str]) -> str:
    names = "|".join(sorted(map(re.escape, tool_names))) or r"(?!)"
    return (
        rf"\b(?:{names})\s{{0,3}}\(|\"name\"\s{{0,3}}:\s{{0,3}}\"(?:{names})\""
        r"|\"(?:tool_calls|function_call|tool_use)\"|</?(?:tool_call|function_call|tool_use)>"
    )


# Written with plain spaces, each compiled as 1-3 whitespace characters (a line break counts); `_tool_call_pattern`
# has none.
_PHRASES: dict[str, str] = {
    "ignore_instructions": r"\b(?:ignore|disregard|forget|override) (?:all |any )?(?:of )?(?:the |your )?"
    r"(?:previous|prior|above|earlier|preceding|system|original) "
    r"(?:instructions?|rules|directions|prompts?|guidelines|messages)",
    "new_role": r"\byou are now\b|\bfrom now on,? you\b|\bact as (?:an?|the)\b|\bpretend (?:to be|you are)\b"
    r"|\bnew instructions:",
    "system_prompt": r"\bsystem prompt\b|\bdeveloper message\b|\byour (?:hidden )?instructions\b"
    r"|\breveal your (?:prompt|instructions)\b",
    "role_tag": r"</?(?:system|assistant|user)>|<\|im_(?:start|end)\|>|\[/?INST\]|<</?SYS>>"
    r"|^[\t\x20]{0,8}(?:system|assistant):|^[\t\x20]{0,8}#{1,6}\s{0,3}(?:system|instructions?)\b",
    "concealment": r"\b(?:do not|don'?t|never) (?:tell|inform|mention (?:this|it) to) the "
    r"(?:user|customer|human|reviewer)\b|\bwithout telling\b|\bkeep (?:this|it) (?:a )?secret\b",
}


def _compiled(phrase: str) -> re.Pattern[str]:
    return re.compile(phrase.replace(" ", r"\s{1,3}"), re.IGNORECASE | re.MULTILINE)


class Detector:
    """The heuristic set, with `tool_names` (the tools an agent could be told to call) for `tool_call`."""

    def __init__(self, tool_names: Iterable[str]) -> None:
        self.patterns = {name: _compiled(phrase) for name, phrase in _PHRASES.items()}
        self.patterns["tool_call"] = _compiled(_tool_call_pattern(tool_names))

    def findings(self, text: str) -> list[Finding]:
        """The first match of each pattern in `text`, in PATTERNS' order; empty when the text reads as data."""
        found: list[Finding] = []
        for name, pattern in self.patterns.items():
            match = pattern.search(text)
            if match:
                found.append(Finding(pattern=name, excerpt=_excerpt(text, match.start(), match.end())))
        return found


def _excerpt(text: str, start: int, end: int) -> str:
    """The matched text and what follows it, on one line, at most EXCERPT characters."""
    return " ".join(text[start : max(end, start + EXCERPT)].split())[:EXCERPT]


PATTERNS = (*_PHRASES, "tool_call")
