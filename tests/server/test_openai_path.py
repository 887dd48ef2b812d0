"""The model factory, and the real HTTP path of its ChatOpenAI (openai client, streaming, tool-call deltas,
usage, retries) against a local OpenAI-compatible endpoint. Nothing here leaves 127.0.0.1."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from server.models.factory import ModelFactory
from server.models.offline import OfflineChatModel
from server.settings import ModelSettings, SettingsError
from tests.openai_stub import OpenAIStub, Reply, running_stub
from tools import TOOLS
from tools.spec import as_langchain_tool

MODEL_ENV = (
    *("OPENAI_API_KEY", "OPENAI_BASE_URL", "KEEL_MODEL", "KEEL_MODEL_ROUTER", "KEEL_MODEL_WORKER"),
    *("KEEL_MODEL_SYNTHESIS", "KEEL_MODEL_MAX_RETRIES", "KEEL_MODEL_TIMEOUT"),
)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with running_stub() as running:
        yield running


@pytest.fixture
def model_env(monkeypatch):
    """Set model variables for one test (and only those: the shell's are removed first)."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)

    def setenv(**env: str) -> ModelSettings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return ModelSettings()

    return setenv


@pytest.fixture
def stub_settings(stub, model_env) -> functools.partial[ModelSettings]:
    return functools.partial(model_env, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=stub.base_url, KEEL_MODEL="stub-1")


def _chat(settings: ModelSettings) -> ChatOpenAI:
    model = ModelFactory(settings).chat("worker")
    assert isinstance(model, ChatOpenAI)
    return model


async def _stream(model: Runnable, prompt: object) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    """The streamed chunks and their sum (what LangChain aggregates them into)."""
    chunks = [chunk async for chunk in model.astream(prompt)]
    assert chunks and all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return chunks, total


# --- the factory ---------------------------------------------------------------------------------------------


def test_without_a_key_every_role_gets_the_offline_model(model_env):
    factory = ModelFactory(model_env())
    for role in ("router", "worker", "synthesis"):
        assert factory.name_for(role) == "offline"
        assert isinstance(factory.chat(role), OfflineChatModel)
    assert factory.chat("router") is factory.chat("synthesis"), "one instance per model name"


def test_roles_resolve_to_their_override_or_the_default(model_env):
    factory = ModelFactory(
        model_env(
            OPENAI_API_KEY="sk-x", KEEL_MODEL="big-model", KEEL_MODEL_ROUTER="small-model", KEEL_MODEL_TIMEOUT="7"
        )
    )
    assert [factory.name_for(role) for role in ("router", "worker", "synthesis")] == [
        "small-model",
        "big-model",
        "big-model",
    ]
    router, worker, synthesis = (factory.chat(role) for role in ("router", "worker", "synthesis"))
    assert isinstance(router, ChatOpenAI) and isinstance(worker, ChatOpenAI)
    assert (router.model_name, worker.model_name) == ("small-model", "big-model")
    assert worker is synthesis and worker is not router
    assert factory.chat("router") is router
    assert (worker.max_retries, worker.request_timeout, worker.stream_usage) == (3, 7.0, True)
    assert isinstance(worker.openai_api_key, SecretStr) and worker.openai_api_key.get_secret_value() == "sk-x"


def test_a_key_alone_means_gpt_4o_mini_and_offline_can_still_be_chosen_per_role(model_env):
    factory = ModelFactory(model_env(OPENAI_API_KEY="sk-x", KEEL_MODEL_SYNTHESIS="offline"))
    assert factory.name_for("worker") == "gpt-4o-mini"
    assert isinstance(factory.chat("synthesis"), OfflineChatModel)


def test_a_remote_model_without_key_or_base_url_fails_at_start(model_env):
    with pytest.raises(SettingsError, match="model 'gpt-4o' \\(for the worker role\\) needs OPENAI_API_KEY"):
        ModelFactory(model_env(KEEL_MODEL_WORKER="gpt-4o"))


async def test_a_local_server_needs_no_key(stub, model_env):
    model = _chat(model_env(OPENAI_BASE_URL=stub.base_url, KEEL_MODEL="llama"))
    answer = await model.ainvoke("hello")
    assert answer.content == stub.default.text
    assert stub.received[0].headers["authorization"] == "Bearer not-needed"


# --- the HTTP path ---------------------------------------------------------------------------------------------


async def test_streamed_tokens_arrive_as_several_chunks_with_usage(stub, stub_settings):
    model = _chat(stub_settings())
    chunks, total = await _stream(model, [HumanMessage("Say hello")])
    texts = [str(chunk.content) for chunk in chunks if chunk.content]
    assert len(texts) == len(stub.default.text.split()) > 3
    assert "".join(texts) == stub.default.text
    assert total.usage_metadata is not None
    usage = {key: total.usage_metadata[key] for key in ("input_tokens", "output_tokens", "total_tokens")}
    assert usage == {"input_tokens": 2, "output_tokens": 8, "total_tokens": 10}  # the stub's final usage chunk

    [request] = stub.received
    assert request.body["model"] == "stub-1"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_a_bound_tools_call_is_reassembled_from_fragments(stub, stub_settings):
    stub.replies = [
        Reply(
            tool_calls=[
                ("lookup_customer", {"query": "alice@acme.example"}),
                ("search_docs", {"query": "sso setup", "limit": 2}),
            ]
        )
    ]
    model = _chat(stub_settings()).bind_tools([as_langchain_tool(TOOLS[name]) for name in sorted(TOOLS)])
    chunks, total = await _stream(model, "Who is alice@acme.example, and how do they set up SSO?")
    fragments = [part for chunk in chunks for part in chunk.tool_call_chunks]
    assert len(fragments) > 6, "arguments arrive in pieces"
    assert {part["index"] for part in fragments} == {0, 1}
    assert [(call["name"], call["args"], call["id"]) for call in total.tool_calls] == [
        ("lookup_customer", {"query": "alice@acme.example"}, "call_0"),
        ("search_docs", {"query": "sso setup", "limit": 2}, "call_1"),
    ]
    assert total.usage_metadata is not None and total.usage_metadata["output_tokens"] > 0
    # the parsed arguments are valid for the tools they name
    for call in total.tool_calls:
        TOOLS[call["name"]].args.model_validate(call["args"])

    sent = {tool["function"]["name"]: tool for tool in stub.received[0].body["tools"]}
    assert sent["issue_refund"] == as_langchain_tool(TOOLS["issue_refund"])


async def test_tool_round_trip_without_streaming(stub, stub_settings):
    stub.replies = [Reply(tool_calls=[("calculator", {"expression": "199 * 12"})]), Reply(text="That is 2388.")]
    model = _chat(stub_settings()).bind_tools([as_langchain_tool(TOOLS["calculator"])])
    first = await model.ainvoke("What does a year of Pro cost?")
    assert first.tool_calls == [
        {"name": "calculator", "args": {"expression": "199 * 12"}, "id": "call_0", "type": "tool_call"}
    ]
    assert first.usage_metadata is not None and first.usage_metadata["input_tokens"] == 7
    result = ToolMessage(content='{"result": 2388}', tool_call_id="call_0")
    second = await model.ainvoke([HumanMessage("What does a year of Pro cost?"), first, result])
    assert second.content == "That is 2388."
    assert stub.received[0].body.get("stream") is not True
    assert stub.received[1].body["messages"][-1] == {
        "role": "tool",
        "content": '{"result": 2388}',
        "tool_call_id": "call_0",
    }


@pytest.mark.slow  # waits out the client's real backoff (about a second)
async def test_429_then_500_are_retried_by_the_client_with_backoff(stub, stub_settings):
    stub.failures = [429, 500]
    model = _chat(stub_settings())
    answer = await model.ainvoke("hello")
    assert answer.content == stub.default.text
    assert len(stub.received) == 3
    assert [r.headers["x-stainless-retry-count"] for r in stub.received] == ["0", "1", "2"]
    after_429 = stub.received[1].at - stub.received[0].at
    after_500 = stub.received[2].at - stub.received[1].at
    assert after_429 >= 0.045, "the 429's retry-after-ms was honoured"
    # exponential backoff for the second retry: 1 s less up to 25 % jitter
    assert after_500 >= 0.7 and after_500 > after_429


async def test_streaming_is_retried_too(stub, stub_settings):
    stub.failures = [503]
    model = _chat(stub_settings())
    _, total = await _stream(model, "hello")
    text = total.content
    assert text == stub.default.text
    assert len(stub.received) == 2


async def test_retries_stop_at_the_configured_count(stub, stub_settings):
    stub.failures = [429, 429, 429]
    model = _chat(stub_settings(KEEL_MODEL_MAX_RETRIES="1"))
    with pytest.raises(openai.RateLimitError):
        await model.ainvoke("hello")
    assert len(stub.received) == 2, "one try and one retry"


async def test_no_retries_when_configured_off(stub, stub_settings):
    stub.failures = [500]
    model = _chat(stub_settings(KEEL_MODEL_MAX_RETRIES="0"))
    with pytest.raises(openai.InternalServerError):
        await model.ainvoke("hello")
    assert len(stub.received) == 1
