"""A ReAct agent as LangGraph's docs write one: `create_react_agent` with a `context_schema`, a prompt and a
tool that read the run's context through `get_runtime`."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from langgraph.prebuilt.chat_agent_executor import AgentState
from langgraph.runtime import get_runtime

from .context import Context
from .model import ScriptedChatModel


@tool
def get_user_info() -> str:
    """Look up the current user."""
    return f"The user is called {get_runtime(Context).context.user_name}."


def prompt(state: AgentState) -> list[Any]:
    context = get_runtime(Context).context
    system = f"{context.greeting}, {context.user_name}."
    return [{"role": "system", "content": system}, *state["messages"]]


graph = create_react_agent(ScriptedChatModel(), tools=[get_user_info], prompt=prompt, context_schema=Context)
