"""The offline model's rules (see `server.models.offline` for the list): reading the conversation, matching
tools, filling arguments from the schema, deciding the calls, and summarising results into an answer."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall

GENERIC_WORDS = frozenset({"check", "lookup", "look", "get", "find", "search", "open", "create", "send", "run", "ask"})
FREE_TEXT_ARGS = frozenset({"query", "question", "request", "task", "message", "body", "text", "note", "reason"})
# Every pattern runs in time linear in its input (the model reads untrusted text, and a regex holds the GIL): a
# pattern that can fail after a long scan is either anchored so that no two starts scan the same text, or
# consumes what it scanned (a digit run, an arithmetic run, a would-be address) and the caller filters.
ARITHMETIC_RUN = re.compile(r"[\d(][\d\s.+\-*/%()]*")
ARITHMETIC_TAIL = re.compile(r"[\s.+\-*/%(]*")  # what follows an expression's last digit or ")" in its run
OPERATION = re.compile(r"\d\s*[-+*/%]\s*\(?\d")
# A directive line; `[^\S\n]` keeps the leading space on its line (a run of blank lines is not rescanned).
KEYWORDS_LINE = re.compile(r"^[^\S\n]*-\s*([\w.-]+)\s*:.*?\(keywords:\s*([^)]*)\)", re.MULTILINE)
DEFAULT_LINE = re.compile(r"^[^\S\n]*-\s*([\w.-]+)\s*:.*\(default\)", re.MULTILINE)
ASSIGNMENT = re.compile(r"\b([a-z_][a-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s,;)]+)")
EMAIL_RUN = re.compile(r"[\w.+-]+(@[\w-]+\.[\w.-]+)?")  # an address, or a run of its characters to skip
# `(?<!\d)`: a number is read from its first digit only (a later start in the same run ends the same way).
MONEY = re.compile(r"\$\s?(\d+(?:\.\d+)?)|(?<!\d)(\d+(?:\.\d+)?)\s?(?:usd|dollars)\b", re.IGNORECASE)
# A run of capitalised words, a company's name perhaps ("Tyrell Systems"); all-caps words (SSO, EU) are not names.
CAPITALISED = re.compile(r"(?<![\w@.'])[A-Z][a-z][\w&-]*(?: [A-Z][a-z][\w&-]*)*")
SENTENCE_END = frozenset(".!?:;\n")
GREETING = re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (morning|afternoon|evening))\b", re.IGNORECASE)
# Straight or curly, double or single quotes. A straight single quote opens only after a non-word character and
# closes only before one, so the apostrophes of "Wayne's" or "don't" quote nothing; every start is a quote, and
# each scans at most to the next quote, so the scans never overlap.
QUOTED = re.compile("\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019|(?<!\\w)'([^'\\n]+)'(?!\\w)")


def text_of(message: BaseMessage) -> str:
    """A message's text: its content, or its content blocks' text (`{"type": "text", "text": ...}`, as Agent Chat UI
    sends a message) one per line; any other block is read as its JSON."""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(_block_text(block) for block in message.content)


def _block_text(block: str | dict[str, Any]) -> str:
    if isinstance(block, str):
        return block
    if block.get("type") == "text" and isinstance(block.get("text"), str):
        return str(block["text"])
    return json.dumps(block)


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)]


class WordIndex:
    """A text's words and where each occurs, so that looking a keyword up costs its occurrences, not the text."""

    def __init__(self, text: str) -> None:
        self.words = _words(text)
        self.positions: dict[str, list[int]] = {}
        for i, word in enumerate(self.words):
            self.positions.setdefault(word, []).append(i)

    def mentions(self, keyword: str) -> bool:
        """Whether `keyword` (a word or a phrase) occurs in the text, by whole words."""
        wanted = _words(keyword)
        if not wanted:
            return False
        n = len(wanted)
        return any(self.words[i : i + n] == wanted for i in self.positions.get(wanted[0], ()))


def _emails(text: str) -> list[str]:
    """E-mail addresses, in order. Each run of address characters is read once, whether or not it is one."""
    return [m.group() for m in EMAIL_RUN.finditer(text) if m.group(1)]


def _quoted(text: str) -> list[str]:
    """The non-empty strings between straight or curly quotes, double or single, in order. A curly opening quote
    after the last closing one of its kind can close nothing; hidden from the pattern (same length, so the spans
    hold), it no longer costs a scan to the end of the text each."""
    scanned = text
    for opening, closing in (("\u201c", "\u201d"), ("\u2018", "\u2019")):
        cut = scanned.rfind(closing) + 1
        scanned = scanned[:cut] + scanned[cut:].replace(opening, "\0")
    return [text[m.start(g) : m.end(g)] for m in QUOTED.finditer(scanned) for g in (1, 2, 3, 4) if m.start(g) >= 0]


def _names(text: str) -> list[str]:
    """Capitalised word runs that may name a customer ("What is the status of Initech?" names "Initech"). A
    sentence's first word is capitalised anyway, so it is dropped from its run, and runs inside a sentence come
    first ("Acme Corp was charged twice, refund Acme Corp" names "Acme Corp", not "Corp")."""
    inside, opening = [], []
    for m in CAPITALISED.finditer(text):
        before = text[max(0, m.start() - 3) : m.start()].rstrip()
        if before and before[-1] not in SENTENCE_END:
            inside.append(m.group())
        elif rest := m.group().partition(" ")[2]:
            opening.append(rest)
    return inside + opening


def _expressions(text: str) -> list[str]:
    """Runs of arithmetic characters that start with a digit or "(" and end with a digit or ")"."""
    found = []
    for run in ARITHMETIC_RUN.findall(text):
        tail = ARITHMETIC_TAIL.match(run[::-1])
        expression = run[: len(run) - tail.end()] if tail else run
        if len(expression) > 1:
            found.append(expression)
    return found


def _number_before(word: str, text: str) -> str | None:
    """The number right before `word` ("25 seats"), read from a number's first digit only."""
    near = re.search(rf"(?<!\d)(\d+(?:\.\d+)?)\s+{re.escape(word)}", text, re.IGNORECASE)
    return near.group(1) if near else None


class Conversation:
    """What the rules read from the messages: directives, the request, this turn, the evidence."""

    def __init__(self, messages: Sequence[BaseMessage]) -> None:
        system = "\n".join(text_of(m) for m in messages if isinstance(m, SystemMessage))
        self.keywords: dict[str, list[str]] = {}
        # A keyword list ends at the next ")"; past the last one there is none, so cutting there spares a scan
        # to the end of the text for every unclosed "(keywords:".
        for name, words in KEYWORDS_LINE.findall(system[: system.rfind(")") + 1]):
            self.keywords.setdefault(name, []).extend(w.strip() for w in words.split(",") if w.strip())
        self.defaults = set(DEFAULT_LINE.findall(system))
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        self.request = text_of(messages[last_human]) if last_human >= 0 else ""
        self.turn = list(messages[last_human + 1 :])
        self.evidence = "\n".join(text_of(m) for m in messages if isinstance(m, HumanMessage | ToolMessage))
        self._ids: dict[tuple[str, bool], list[str]] = {}
        self.held: dict[str, list[str]] = {}  # calls not made for want of an id: tool -> its missing arguments
        self._numbers: dict[str, str | None] = {}
        self.assignments: dict[str, str] = {}
        for m in messages:
            if isinstance(m, HumanMessage | ToolMessage):
                for key, value in ASSIGNMENT.findall(text_of(m)):
                    self.assignments[key] = value.strip("\"'")

    # What the rules read more than once from a long text is read once per reply.
    @cached_property
    def request_words(self) -> WordIndex:
        return WordIndex(self.request)

    @cached_property
    def evidence_words(self) -> WordIndex:
        return WordIndex(self.evidence)

    @cached_property
    def request_emails(self) -> list[str]:
        return _emails(self.request)

    @cached_property
    def evidence_emails(self) -> list[str]:
        return _emails(self.evidence)

    @cached_property
    def quoted(self) -> list[str]:
        return _quoted(self.request)

    @cached_property
    def names(self) -> list[str]:
        return _names(self.request)

    @cached_property
    def money(self) -> str | None:
        found = MONEY.search(self.request)
        return next(g for g in found.groups() if g) if found else None

    def ids(self, prefix: str, *, evidence: bool = False) -> list[str]:
        """Ids with this prefix in the request (or in the evidence)."""
        if (prefix, evidence) not in self._ids:
            self._ids[prefix, evidence] = _ids(prefix, self.evidence if evidence else self.request)
        return self._ids[prefix, evidence]

    def number_before(self, word: str) -> str | None:
        if word not in self._numbers:
            self._numbers[word] = _number_before(word, self.request)
        return self._numbers[word]

    @cached_property
    def first_paragraph(self) -> str:
        return self.request.split("\n\n", 1)[0].strip()

    def calls(self) -> list[ToolCall]:
        return [c for m in self.turn if isinstance(m, AIMessage) for c in m.tool_calls]

    def results(self) -> list[ToolMessage]:
        return [m for m in self.turn if isinstance(m, ToolMessage)]


def _tool_keywords(name: str, conv: Conversation) -> list[str]:
    own = [w for w in name.split("_") if w and w not in GENERIC_WORDS]
    return own + conv.keywords.get(name, [])


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` and unwrap `anyOf: [X, null]` so the rules see one plain property schema."""
    if "$ref" in prop:
        prop = {**schema.get("$defs", {}).get(prop["$ref"].rsplit("/", 1)[-1], {}), **prop}
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            return {**_resolve(schema, option), **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def _coerce(value: str, kind: str | None) -> Any:
    try:
        if kind == "integer":
            return int(float(value))
        if kind == "number":
            return float(value)
    except (ValueError, OverflowError):  # "amount=lots", "seats=1e999": the tool's validation says what is wrong
        return value
    if kind == "boolean":
        return value.lower() in {"true", "yes", "1"}
    return value


def _ids(prefix: str, text: str) -> list[str]:
    return re.findall(rf"\b{re.escape(prefix)}_[a-z0-9_]*[a-z0-9]", text)


def _fill(name: str, prop: dict[str, Any], required: bool, conv: Conversation) -> Any:
    """One argument's value by rule 4, or None when no rule applies."""
    kind, about = prop.get("type"), str(prop.get("description", ""))
    if name in conv.assignments:
        return _coerce(conv.assignments[name], kind)
    if "enum" in prop:
        choices = [str(c) for c in prop["enum"]]
        listed = [c for c in conv.keywords if c in choices]
        if not listed and not required:  # an optional choice is made only when asked for
            return prop.get("default")
        for choice in listed or choices:
            if any(
                (conv.evidence_words if listed else conv.request_words).mentions(k)
                for k in conv.keywords.get(choice, [choice])
            ):
                return choice
        return next((c for c in choices if c in conv.defaults), prop.get("default", choices[0]))
    if name.endswith("_id"):  # the id's prefix: from its pattern, its description ("(cus_…)"), or its name
        prefix = re.search(r"\^?([a-z]+)_", prop.get("pattern", "")) or re.search(r"\b([a-z]+)_…", about)
        found = conv.ids(prefix.group(1) if prefix else name[:3]) or conv.ids(
            prefix.group(1) if prefix else name[:3], evidence=True
        )
        return found[0] if found else None
    if "email" in name or prop.get("format") == "email":
        found = conv.request_emails or conv.evidence_emails
        return found[0] if found else None
    if kind in {"integer", "number"}:
        raw = conv.number_before(name.replace("_", " ")) or (
            conv.money if "amount" in name or "price" in name else None
        )
        if raw:
            return _coerce(raw, kind)
        return prop.get("default")
    if kind != "string":
        return prop.get("default")
    quoted = conv.quoted
    if name == "expression":
        sums = [m.strip() for m in _expressions(conv.request) if OPERATION.search(m)]
        return max(sums, key=len) if sums else None
    if name == "query" and _is_lookup(about):
        found = conv.request_emails + conv.ids("cus") + conv.names  # a look-up: the id, address or name asked about
        return found[0] if found else (quoted[0] if quoted else conv.request)
    first_paragraph = conv.first_paragraph
    if name == "request" and "id" in about.split():  # a hand-off "with every id": add the customer it is about
        found = [i for i in _ids("cus", "\n".join(text_of(r) for r in conv.results())) if i not in conv.request]
        if not found and not conv.ids("cus"):  # a follow-up ("upgrade them"): the customer of the latest turns
            found = conv.ids("cus", evidence=True)[-1:]
        return f"{first_paragraph} ({found[0]})" if found else first_paragraph
    if name in {"subject", "title"}:
        return first_paragraph.split("\n")[0][:77]
    if name == "name":
        return quoted[0] if quoted else None
    if name in FREE_TEXT_ARGS:
        return first_paragraph
    return prop.get("default")


def _is_lookup(about: str) -> bool:
    """Whether a `query` argument described so is a look-up by id, address or name (not a free-text search)."""
    return "email" in about or "id" in about.split()


def _lookup_tool(tools: list[dict[str, Any]]) -> str | None:
    """The bound tool that finds a customer by id, address or name, if any."""
    for tool in tools:
        query = tool["function"].get("parameters", {}).get("properties", {}).get("query", {})
        if _is_lookup(str(query.get("description", ""))):
            return str(tool["function"]["name"])
    return None


def _arguments(schema: dict[str, Any], conv: Conversation) -> list[dict[str, Any]]:
    """The argument sets for one tool: usually one, one per quoted string for a tool that takes a name."""
    props: dict[str, Any] = schema.get("properties", {})
    args: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, raw in props.items():
        value = _fill(name, _resolve(schema, raw), name in required, conv)
        if value is not None:
            args[name] = value
    quoted_arg = "name" if "name" in props and "name" not in conv.assignments else None
    quoted = conv.quoted
    if quoted_arg is None or not quoted:
        return [args]
    return [{**args, quoted_arg: q} for q in quoted]


def _canonical(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _call_id(name: str, args: dict[str, Any], salt: int) -> str:
    digest = hashlib.sha256(json.dumps([name, args, salt], sort_keys=True, default=str).encode()).hexdigest()
    return f"call_{digest[:20]}"


def decide_calls(tools: list[dict[str, Any]], tool_choice: Any, conv: Conversation, salt: int) -> list[ToolCall]:
    made = conv.calls()
    failed = {m.tool_call_id for m in conv.results() if m.status == "error"}
    wanted: list[tuple[str, dict[str, Any]]] = []
    for tool in tools:
        fn = tool["function"]
        name = fn["name"]
        tried = [c for c in made if c["name"] == name]
        arg_sets = _arguments(fn.get("parameters", {}), conv)
        if not tried:
            forced = not made and (tool_choice == name or (tool_choice in {"any", "required"} and tool is tools[0]))
            if forced or any(conv.request_words.mentions(k) for k in _tool_keywords(name, conv)):
                wanted.extend((name, a) for a in arg_sets)
        elif any(c["id"] in failed for c in tried):  # rule 3: retry when the conversation now gives new arguments
            seen = {_canonical(c["args"]) for c in tried}
            wanted.extend((name, a) for a in arg_sets if _canonical(a) not in seen)
    schemas = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
    wanted = [(name, args) for name, args in wanted if not _held(name, args, schemas[name], conv)]
    lookup = _lookup_tool(tools)
    if lookup and not made and not conv.ids("cus") and (conv.request_emails or conv.names):
        # Rule 4b: a customer named without an id is looked up first; the other calls wait for the id it finds.
        wanted = [(n, a) for n, a in wanted if n == lookup] or [(lookup, _arguments(_schema(tools, lookup), conv)[0])]
    return [
        ToolCall(name=name, args=args, id=_call_id(name, args, salt + i), type="tool_call")
        for i, (name, args) in enumerate(wanted)
    ]


def _held(name: str, args: dict[str, Any], schema: dict[str, Any], conv: Conversation) -> bool:
    """Rule 4c: a call without a required id (`customer_id`, `invoice_id`) is not made, since no id in the
    conversation says which one is meant; the reply asks for what is missing instead."""
    required = [p for p in schema.get("required", []) if p not in args]
    if not any(p.endswith("_id") for p in required):
        return False
    conv.held[name] = required
    return True


def _schema(tools: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(dict(t["function"].get("parameters", {})) for t in tools if t["function"]["name"] == name)


def _summarise(result: ToolMessage) -> str:
    text = text_of(result)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        return ", ".join(f"{k}: {v}" for k, v in list(data.items())[:10])
    if isinstance(data, list):
        return f"{len(data)} result(s): " + "; ".join(json.dumps(d, default=str) for d in data[:5])
    return str(data)


def answer(tools: list[dict[str, Any]], conv: Conversation) -> str:
    results = conv.results()
    if results:
        lines = [f"{r.name or 'tool'}{' failed' if r.status == 'error' else ''}: {_summarise(r)}" for r in results]
        return lines[0] if len(lines) == 1 else "Here is what I found:\n" + "\n".join(f"- {line}" for line in lines)
    if conv.held:
        needs = "; ".join(f"{tool} needs {', '.join(missing)}" for tool, missing in conv.held.items())
        return f"Which customer do you mean? I need more to go on: {needs}."
    can = "; ".join(f"{t['function']['name']} ({t['function'].get('description', '').split('.')[0]})" for t in tools)
    opening = "Hello! " if GREETING.match(conv.request) else "I found nothing to look up or change for that. "
    help_text = f"I can help with: {can}." if can else "I answer directly; I have no tools here."
    return f"{opening}I'm keel's offline model, a rule-following stand-in for an LLM. {help_text}"
