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
   `$` amounts and "<number> <name>" ("25 seats"); `name` from quoted strings, straight or curly, double or single
   (one call per quoted name; an apostrophe quotes nothing); `subject`/`title` from the request's first line;
   `expression` from the arithmetic in the request; a look-up `query` from the id, address or capitalised name in
   the request (not a sentence's first word); a hand-off `request` "with every id" is the request plus the id of
   the customer looked up this turn (or, naming none, of the latest turns); other free text (query, message,
   body, reason…) is the request's first paragraph; a required enum takes the first value whose declared keywords
   appear in the evidence (else the one marked "(default)"); an optional one only its default. Then the schema's
   defaults.
   A required argument it cannot fill is left out, and the tool's validation says so. A request that names a
   customer by address or name but by no `cus_…` id gets the look-up tool alone first (when one is bound), so the
   other calls can use the id it finds. A call still missing a required id (`customer_id`, `invoice_id`…) is not
   made: with nothing else to do, the reply asks which customer is meant and names what each such call needs.
5. With no call to make, it answers: a summary of this turn's tool results if there are any, otherwise that
   question for a missing id, or a short direct reply that says what it can do. Answers stream word by word;
   `usage_metadata` counts words.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from server.models.offline_rules import Conversation, answer, decide_calls, text_of


class ReplyChatModel(BaseChatModel):
    """A chat model whose whole reply is decided at once by `_reply` (an `AIMessage`), then streamed the way a
    real model streams it: one chunk per word of the content, then the tool calls and usage. The offline model
    and the tests' scripted model differ only in `_reply`."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    @abstractmethod
    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        """The whole reply to `messages`; `kwargs` carry the bound `tools` and `tool_choice`."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature
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
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature
        run_manager: CallbackManagerForLLMRun | None = None,  # noqa: ARG002 -- the base class calls the callbacks
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # BaseChatModel hands each chunk to the callbacks (LangGraph's "messages" stream) itself.
        yield from self._chunks(messages, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,  # noqa: ARG002 -- BaseChatModel's signature
        run_manager: AsyncCallbackManagerForLLMRun | None = None,  # noqa: ARG002 -- the base class calls them
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, **kwargs):
            yield chunk


class OfflineChatModel(ReplyChatModel):
    """Deterministic, no network. See the module docstring for the complete list of rules."""

    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        conv = Conversation(messages)
        calls = decide_calls(tools, kwargs.get("tool_choice"), conv, salt=len(messages))
        content = "" if calls else answer(tools, conv)
        spoken = content or json.dumps([{"name": c["name"], "args": c["args"]} for c in calls])
        tokens_in = sum(len(text_of(m).split()) for m in messages)
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
