"""A scripted chat model standing in for a real one (no network): it calls each bound tool once, then answers
with its system prompt followed by what the tools returned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool


class ScriptedChatModel(BaseChatModel):
    tool_names: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Any | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]
        return self.model_copy(update={"tool_names": names})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        results = [m.text for m in messages[last_human + 1 :] if isinstance(m, ToolMessage)]
        if self.tool_names and not results:
            calls = [{"name": name, "args": {}, "id": f"call_{i}"} for i, name in enumerate(self.tool_names)]
            message = AIMessage(content="", tool_calls=calls)
        else:
            system = " ".join(m.text for m in messages if isinstance(m, SystemMessage))
            message = AIMessage(content=" ".join([system, *results]).strip())
        return ChatResult(generations=[ChatGeneration(message=message)])
