"""The `offline` chat model: a deterministic stand-in for an LLM, for tests, demos and machines without a key.

It does not understand language. It follows these rules, and nothing else:

1. The *request* is the last human message; the *turn* is everything after it (its own tool calls and the
   tool results). *Evidence* is the text of every human and tool message.
2. A bound tool *matches* when the request contains one of its keywords: the words of its name (minus generic
   verbs such as "check" or "lookup") plus keywords declared in a system message with a line like
   `- issue_refund: give money back (keywords: refund, money back)`. Matching ignores case and a plural "s".
3. Every matching tool not yet called this turn is called, all in one reply. A call that failed is made again
   when the conversation now gives different arguments (an id another tool found, or an error that says
   `use name=value`). `tool_choice` set to a tool name (or "any"/"required") forces a call on a turn's first reply.
4. Arguments come from the tool's JSON schema, filled from the conversation: an explicit `name=value` (the latest
   wins); ids by their prefix (`cus_…`, `inv_…`, from the schema's pattern or description); e-mail addresses;
   `$` amounts and "<number> <name>" ("25 seats"); `name` from quoted strings (one call per quoted name);
   `subject`/`title` from the request's first line; `expression` from the arithmetic in the request; a look-up
   `query` from the id or address in the request; other free text (query, message, body, reason…) is the
   request's first paragraph; a required enum takes the first value whose declared keywords appear in the
   evidence (else the one marked "(default)"); an optional one only its default. Then the schema's defaults.
   A required argument it cannot fill is left out, and the tool's validation says so.
5. With no call to make, it answers: a summary of this turn's tool results if there are any, otherwise a short
   direct reply that says what it can do. Answers stream word by word; `usage_metadata` counts words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

GENERIC_WORDS = frozenset({"check", "lookup", "look", "get", "find", "search", "open", "create", "send", "run", "ask"})
FREE_TEXT_ARGS = frozenset({"query", "question", "request", "task", "message", "body", "text", "note", "reason"})
ARITHMETIC = re.compile(r"[\d(][\d\s.+\-*/%()]*[\d)]")
KEYWORDS_LINE = re.compile(r"^\s*-\s*([\w.-]+)\s*:.*?\(keywords:\s*([^)]*)\)", re.MULTILINE)
DEFAULT_LINE = re.compile(r"^\s*-\s*([\w.-]+)\s*:.*\(default\)", re.MULTILINE)
ASSIGNMENT = re.compile(r"\b([a-z_][a-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s,;)]+)")
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
MONEY = re.compile(r"\$\s?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s?(?:usd|dollars)\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
GREETING = re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (morning|afternoon|evening))\b", re.IGNORECASE)


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else json.dumps(message.content)


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)]


def _mentions(text: str, keyword: str) -> bool:
    """Whether `keyword` (a word or a phrase) occurs in `text`, by whole words."""
    wanted, words = _words(keyword), _words(text)
    return bool(wanted) and any(words[i : i + len(wanted)] == wanted for i in range(len(words)))


class _Conversation:
    """What the rules read from the messages: directives, the request, this turn, the evidence."""

    def __init__(self, messages: Sequence[BaseMessage]) -> None:
        system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
        self.keywords: dict[str, list[str]] = {}
        for name, words in KEYWORDS_LINE.findall(system):
            self.keywords.setdefault(name, []).extend(w.strip() for w in words.split(",") if w.strip())
        self.defaults = set(DEFAULT_LINE.findall(system))
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        self.request = _text(messages[last_human]) if last_human >= 0 else ""
        self.turn = list(messages[last_human + 1 :])
        self.evidence = "\n".join(_text(m) for m in messages if isinstance(m, HumanMessage | ToolMessage))
        self.assignments: dict[str, str] = {}
        for m in messages:
            if isinstance(m, HumanMessage | ToolMessage):
                for key, value in ASSIGNMENT.findall(_text(m)):
                    self.assignments[key] = value.strip("\"'")

    def calls(self) -> list[ToolCall]:
        return [c for m in self.turn if isinstance(m, AIMessage) for c in m.tool_calls]

    def results(self) -> list[ToolMessage]:
        return [m for m in self.turn if isinstance(m, ToolMessage)]


def _tool_keywords(name: str, conv: _Conversation) -> list[str]:
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
    if kind == "integer":
        return int(float(value))
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value.lower() in {"true", "yes", "1"}
    return value


def _ids(prefix: str, text: str) -> list[str]:
    return re.findall(rf"\b{re.escape(prefix)}_[a-z0-9_]*[a-z0-9]", text)


def _fill(name: str, prop: dict[str, Any], required: bool, conv: _Conversation) -> Any:
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
                _mentions(conv.evidence if listed else conv.request, k) for k in conv.keywords.get(choice, [choice])
            ):
                return choice
        return next((c for c in choices if c in conv.defaults), prop.get("default", choices[0]))
    if name.endswith("_id"):  # the id's prefix: from its pattern, its description ("(cus_…)"), or its name
        prefix = re.search(r"\^?([a-z]+)_", prop.get("pattern", "")) or re.search(r"\b([a-z]+)_…", about)
        found = _ids(prefix.group(1) if prefix else name[:3], conv.request) or _ids(
            prefix.group(1) if prefix else name[:3], conv.evidence
        )
        return found[0] if found else None
    if "email" in name or prop.get("format") == "email":
        found = EMAIL.findall(conv.request) or EMAIL.findall(conv.evidence)
        return found[0] if found else None
    if kind in {"integer", "number"}:
        near = re.search(rf"(\d+(?:\.\d+)?)\s+{re.escape(name.replace('_', ' '))}", conv.request, re.IGNORECASE)
        money = MONEY.search(conv.request) if "amount" in name or "price" in name else None
        if near or money:
            raw = near.group(1) if near else next(g for g in money.groups() if g)  # type: ignore[union-attr]
            return _coerce(raw, kind)
        return prop.get("default")
    if kind != "string":
        return prop.get("default")
    quoted = [a or b for a, b in QUOTED.findall(conv.request)]
    if name == "expression":
        sums = [m.strip() for m in ARITHMETIC.findall(conv.request) if re.search(r"\d\s*[-+*/%]\s*\(?\d", m)]
        return max(sums, key=len) if sums else None
    if name == "query" and ("email" in about or "id" in about.split()):
        found = EMAIL.findall(conv.request) + _ids("cus", conv.request)  # a look-up: the id or address asked about
        return found[0] if found else (quoted[0] if quoted else conv.request)
    first_paragraph = conv.request.split("\n\n")[0].strip()
    if name in {"subject", "title"}:
        return first_paragraph.split("\n")[0][:77]
    if name == "name":
        return quoted[0] if quoted else None
    if name in FREE_TEXT_ARGS:
        return first_paragraph
    return prop.get("default")


def _arguments(schema: dict[str, Any], conv: _Conversation) -> list[dict[str, Any]]:
    """The argument sets for one tool: usually one, one per quoted string for a tool that takes a name."""
    props: dict[str, Any] = schema.get("properties", {})
    args: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, raw in props.items():
        value = _fill(name, _resolve(schema, raw), name in required, conv)
        if value is not None:
            args[name] = value
    quoted_arg = "name" if "name" in props and "name" not in conv.assignments else None
    quoted = [a or b for a, b in QUOTED.findall(conv.request)]
    if quoted_arg is None or not quoted:
        return [args]
    return [{**args, quoted_arg: q} for q in quoted]


def _call_id(name: str, args: dict[str, Any], salt: int) -> str:
    digest = hashlib.sha256(json.dumps([name, args, salt], sort_keys=True, default=str).encode()).hexdigest()
    return f"call_{digest[:20]}"


def _decide_calls(tools: list[dict[str, Any]], tool_choice: Any, conv: _Conversation, salt: int) -> list[ToolCall]:
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
            if forced or any(_mentions(conv.request, k) for k in _tool_keywords(name, conv)):
                wanted.extend((name, a) for a in arg_sets)
        elif any(c["id"] in failed for c in tried):  # rule 3: retry when the conversation now gives new arguments
            wanted.extend((name, a) for a in arg_sets if all(a != c["args"] for c in tried))
    return [
        ToolCall(name=name, args=args, id=_call_id(name, args, salt + i), type="tool_call")
        for i, (name, args) in enumerate(wanted)
    ]


def _summarise(result: ToolMessage) -> str:
    text = _text(result)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        return ", ".join(f"{k}: {v}" for k, v in list(data.items())[:10])
    if isinstance(data, list):
        return f"{len(data)} result(s): " + "; ".join(json.dumps(d, default=str) for d in data[:5])
    return str(data)


def _answer(tools: list[dict[str, Any]], conv: _Conversation) -> str:
    results = conv.results()
    if results:
        lines = [f"{r.name or 'tool'}{' failed' if r.status == 'error' else ''}: {_summarise(r)}" for r in results]
        return lines[0] if len(lines) == 1 else "Here is what I found:\n" + "\n".join(f"- {line}" for line in lines)
    can = "; ".join(f"{t['function']['name']} ({t['function'].get('description', '').split('.')[0]})" for t in tools)
    opening = "Hello! " if GREETING.match(conv.request) else "I found nothing to look up or change for that. "
    help_text = f"I can help with: {can}." if can else "I answer directly; I have no tools here."
    return f"{opening}I'm keel's offline model, a rule-following stand-in for an LLM. {help_text}"


class OfflineChatModel(BaseChatModel):
    """Deterministic, no network. See the module docstring for the complete list of rules."""

    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        conv = _Conversation(messages)
        calls = _decide_calls(tools, kwargs.get("tool_choice"), conv, salt=len(messages))
        content = "" if calls else _answer(tools, conv)
        spoken = content or json.dumps([{"name": c["name"], "args": c["args"]} for c in calls])
        tokens_in = sum(len(_text(m).split()) for m in messages)
        tokens_out = len(spoken.split())
        return AIMessage(
            content=content,
            tool_calls=calls,
            usage_metadata={
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
            response_metadata={"model_name": self.model_name, "finish_reason": "tool_calls" if calls else "stop"},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature; the rules ignore stop words
        run_manager: CallbackManagerForLLMRun | None = None,  # noqa: ARG002 -- the base class calls the callbacks
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, **kwargs))])

    def _chunks(self, messages: list[BaseMessage], **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """The reply as a stream: one chunk per word, then the tool calls, then usage."""
        reply = self._reply(messages, **kwargs)
        for word in re.findall(r"\S+\s*", str(reply.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": c["name"],
                        "args": json.dumps(c["args"]),
                        "id": c["id"],
                        "index": i,
                        "type": "tool_call_chunk",
                    }
                    for i, c in enumerate(reply.tool_calls)
                ],
                usage_metadata=reply.usage_metadata,
                response_metadata=reply.response_metadata,
                chunk_position="last",
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature; the rules ignore stop words
        run_manager: CallbackManagerForLLMRun | None = None,  # noqa: ARG002 -- the base class calls the callbacks
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # BaseChatModel hands each chunk to the callbacks (LangGraph's "messages" stream) itself.
        yield from self._chunks(messages, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature; the rules ignore stop words
        run_manager: AsyncCallbackManagerForLLMRun | None = None,  # noqa: ARG002 -- the base class calls them
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, **kwargs):
            yield chunk
