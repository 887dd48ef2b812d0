"""Issue 13 §1 (context) and the graph shapes LangGraph's docs use, through the official Python SDK.

Expected behaviour is LangGraph Server's: a run with no `context` gives the graph `{}` (so a `context_schema`
dataclass gets its defaults); a run's `context` is mirrored into `config.configurable` and a run's
`configurable` into `context`; an assistant's stored context sits under the run's. A factory taking a
`RunnableConfig` is called for each run with that run's config; graphs get the server's store as
`runtime.store`."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import BadRequestError

pytestmark = pytest.mark.slow

QUESTION: dict[str, Any] = {"messages": [{"role": "human", "content": "Who am I?"}]}


def answer_of(values: Any) -> str:
    assert isinstance(values, dict), values
    text = values["messages"][-1]["content"]
    assert isinstance(text, str)
    return text


async def test_the_react_agent_reads_the_runs_context(client: LangGraphClient) -> None:
    values = await client.runs.wait(None, "agent", input=QUESTION, context={"user_name": "Ada"})
    assert answer_of(values) == "Hello, Ada. The user is called Ada."


async def test_the_react_agent_gets_its_context_defaults_without_context(client: LangGraphClient) -> None:
    values = await client.runs.wait(None, "agent", input=QUESTION)
    assert answer_of(values) == "Hello, friend. The user is called friend."


async def test_context_is_mirrored_into_configurable(client: LangGraphClient) -> None:
    values = await client.runs.wait(None, "echo", input={}, context={"user_name": "Ada"})
    assert values == {"context": {"user_name": "Ada", "greeting": "Hello"}, "configured": {"user_name": "Ada"}}


async def test_configurable_is_mirrored_into_context(client: LangGraphClient) -> None:
    values = await client.runs.wait(None, "echo", input={}, config={"configurable": {"user_name": "Ada"}})
    assert isinstance(values, dict)
    assert values["context"] == {"user_name": "Ada", "greeting": "Hello"}


async def test_configurable_keys_outside_the_context_schema_are_left_out_of_the_context(
    client: LangGraphClient,
) -> None:
    values = await client.runs.wait(None, "echo", input={}, config={"configurable": {"persona": "pirate"}})
    assert isinstance(values, dict)
    assert values["context"] == {"user_name": "friend", "greeting": "Hello"}


async def test_sending_both_context_and_configurable_is_a_400(client: LangGraphClient) -> None:
    with pytest.raises(BadRequestError):
        await client.runs.create(
            None, "echo", input={}, context={"user_name": "Ada"}, config={"configurable": {"a": 1}}
        )


async def test_an_assistants_configurable_reaches_the_context(client: LangGraphClient) -> None:
    made = await client.assistants.create(
        "echo", config={"configurable": {"greeting": "Ahoy"}}, name=f"a-{uuid.uuid4()}"
    )
    values = await client.runs.wait(None, made["assistant_id"], input={}, context={"user_name": "Ada"})
    assert values == {
        "context": {"user_name": "Ada", "greeting": "Ahoy"},
        "configured": {"user_name": "Ada", "greeting": "Ahoy"},
    }


async def test_an_assistants_context_sits_under_the_runs(client: LangGraphClient) -> None:
    assistant = await client.assistants.create("echo", context={"greeting": "Howdy"}, name=f"howdy-{uuid.uuid4()}")
    values = await client.runs.wait(None, assistant["assistant_id"], input={}, context={"user_name": "Ada"})
    assert isinstance(values, dict)
    assert values["context"] == {"user_name": "Ada", "greeting": "Howdy"}


async def test_a_factory_graph_serves(client: LangGraphClient) -> None:
    assert await client.runs.wait(None, "factory", input={}) == {"reply": "built for plain"}


async def test_a_factory_is_called_with_the_runs_config(client: LangGraphClient) -> None:
    values = await client.runs.wait(None, "factory", input={}, config={"configurable": {"persona": "pirate"}})
    assert values == {"reply": "built for pirate"}


async def test_a_subgraph_interrupt_stops_the_run_and_a_resume_finishes_it(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    events = [
        part.event
        async for part in client.runs.stream(
            thread_id, "approval", input={"request": "deploy"}, stream_mode="updates", stream_subgraphs=True
        )
    ]
    assert any(event.startswith("updates|review") for event in events), events
    state = await client.threads.get_state(thread_id)
    assert [item["value"] for item in state["interrupts"]] == [{"question": "Approve deploy?"}]
    assert (await client.threads.get(thread_id))["status"] == "interrupted"

    values = await client.runs.wait(thread_id, "approval", command={"resume": "yes"})
    assert values == {"request": "deploy", "decision": "yes", "outcome": "done"}


async def test_a_graph_remembers_across_threads_through_the_store(client: LangGraphClient) -> None:
    user = str(uuid.uuid4())
    await client.runs.wait(None, "memory", input={"user": user, "note": "prefers email"})
    values = await client.runs.wait(None, "memory", input={"user": user})
    assert values == {"user": user, "remembered": ["prefers email"]}
