"""langgraph.json as LangGraph's CLI reads it: every shape of graph factory (called once at start-up or per run,
as LangGraph Server calls it), broken entries left out unless strict, and the env, dependencies, http, auth and
store sections."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_sdk import get_client
from langgraph_sdk.runtime import _ExecutionRuntime, _ReadRuntime
from starlette.applications import Starlette

from server.errors import NotFound
from server.graph_loading import GraphLoadError, LoadedGraphs, load_graphs
from tests.server.conftest import KeelServer

FACTORIES = """
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

if TYPE_CHECKING:
    from langgraph_sdk.runtime import ServerRuntime

CALLS: list[tuple[str, object]] = []


class State(TypedDict, total=False):
    reply: str


def build(reply: str):
    builder = StateGraph(State)
    builder.add_node("answer", lambda state: {"reply": reply})
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder


compiled = build("compiled").compile()
builder = build("builder")


def no_arg():
    CALLS.append(("no_arg", None))
    return build("no_arg")


def with_config(config: RunnableConfig):
    persona = config["configurable"].get("persona", "plain")
    CALLS.append(("with_config", persona))
    return build(f"config:{persona}").compile()


def with_defaults(workers=("a", "b"), config: RunnableConfig | None = None):
    CALLS.append(("with_defaults", (workers, config)))
    return build(f"defaults:{len(workers)}")


def with_runtime(runtime: ServerRuntime):
    CALLS.append(("with_runtime", runtime))
    return build("runtime")


def both(runtime: ServerRuntime, config):
    CALLS.append(("both", (runtime, config["configurable"].get("persona"))))
    return build("both")


async def async_no_arg():
    CALLS.append(("async_no_arg", None))
    return build("async")


@contextlib.asynccontextmanager
async def managed(config: RunnableConfig):
    CALLS.append(("managed", "enter"))
    try:
        yield build("managed")
    finally:
        CALLS.append(("managed", "exit"))


@contextlib.contextmanager
def sync_managed():
    CALLS.append(("sync_managed", "enter"))
    yield build("sync_managed")
    CALLS.append(("sync_managed", "exit"))
"""

KINDS = {
    "compiled": False,
    "builder": False,
    "no_arg": False,
    "with_config": True,
    "with_defaults": True,
    "with_runtime": True,
    "both": True,
    "async_no_arg": True,
    "managed": True,
    "sync_managed": True,
}


def _app(tmp_path: Path, source: str, graphs: dict[str, Any], **sections: Any) -> tuple[Path, str]:
    """A package of a unique name beside a langgraph.json naming its attributes; returns (json path, package)."""
    package = f"app_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "graphs.py").write_text(source)
    named = {graph_id: f"./{package}/graphs.py:{attr}" for graph_id, attr in graphs.items()}
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": named, **sections}))
    return config, package


def _calls(package: str) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = sys.modules[f"{package}.graphs"].CALLS
    return calls


async def _reply(loaded: LoadedGraphs, graph_id: str, config: dict[str, Any], context: Any = None) -> str:
    if not loaded.is_per_run(graph_id):
        result = await loaded[graph_id].ainvoke({}, {"configurable": {"thread_id": str(uuid.uuid4())}})
        return str(result["reply"])
    async with loaded.open_for_run(graph_id, config, context) as graph:
        result = await graph.ainvoke({}, {"configurable": {"thread_id": str(uuid.uuid4()), **config["configurable"]}})
        return str(result["reply"])


async def test_every_kind_of_graph_and_factory_loads_and_only_factories_with_arguments_or_async_run_per_run(
    tmp_path: Path,
) -> None:
    config, package = _app(tmp_path, FACTORIES, {kind: kind for kind in KINDS})
    loaded = load_graphs(config).with_checkpointer(saver := InMemorySaver())
    assert {kind: loaded.is_per_run(kind) for kind in KINDS} == KINDS
    assert all(graph.checkpointer is saver for graph in loaded.values())
    at_start_up = _calls(package)
    assert [name for name, _ in at_start_up].count("no_arg") == 1
    read = dict(at_start_up)["with_runtime"]
    assert isinstance(read, _ReadRuntime) and read.access_context == "assistants.read"
    assert read.execution_runtime is None
    assert ("managed", "exit") in at_start_up, "a context manager entered at start-up is exited again"
    at_start_up.clear()

    persona = {"configurable": {"persona": "pirate"}}
    replies = {kind: await _reply(loaded, kind, persona, context={"user": "ada"}) for kind in KINDS}
    assert replies == {
        "compiled": "compiled",
        "builder": "builder",
        "no_arg": "no_arg",
        "with_config": "config:pirate",
        "with_defaults": "defaults:2",
        "with_runtime": "runtime",
        "both": "both",
        "async_no_arg": "async",
        "managed": "managed",
        "sync_managed": "sync_managed",
    }
    per_run = _calls(package)
    assert "no_arg" not in [name for name, _ in per_run], "a sync factory taking nothing is called once, at start-up"
    assert dict(per_run)["with_defaults"] == (("a", "b"), persona), "only a parameter asking for the config gets it"
    run_time = dict(per_run)["with_runtime"]
    assert isinstance(run_time, _ExecutionRuntime) and run_time.access_context == "threads.create_run"
    assert run_time.context == {"user": "ada"}
    both_runtime, both_persona = dict(per_run)["both"]
    assert isinstance(both_runtime, _ExecutionRuntime) and both_persona == "pirate"
    assert [call for call in per_run if call[0] == "managed"] == [("managed", "enter"), ("managed", "exit")]


async def test_a_per_run_graph_checkpoints_to_keels_saver_and_the_users_graph_is_untouched(tmp_path: Path) -> None:
    config, _ = _app(tmp_path, FACTORIES, {"with_config": "with_config"})
    loaded = load_graphs(config).with_checkpointer(saver := InMemorySaver())
    async with loaded.open_for_run("with_config", {"configurable": {}}, None) as graph:
        assert graph.checkpointer is saver
        await graph.ainvoke({}, {"configurable": {"thread_id": "t-1"}})
    assert saver.get_tuple({"configurable": {"thread_id": "t-1"}}) is not None


def test_a_broken_entry_is_left_out_with_its_reason_and_the_others_serve(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, _ = _app(tmp_path, FACTORIES, {"good": "compiled", "broken": "nope"})
    with caplog.at_level(logging.ERROR, logger="server.graph_loading"):
        loaded = load_graphs(config)
    assert list(loaded) == ["good"]
    assert "has no attribute 'nope'" in loaded.broken["broken"]
    assert [record.getMessage() for record in caplog.records] == [
        f"{loaded.broken['broken']} (left out; the other graphs serve, `keel serve --strict` would stop instead)"
    ]
    with pytest.raises(NotFound, match=r"graph 'broken' failed to load: .*has no attribute 'nope'"):
        loaded.entry("broken")
    with pytest.raises(GraphLoadError, match="has no attribute 'nope'"):
        load_graphs(config, strict=True)


def test_with_every_entry_broken_start_up_fails(tmp_path: Path) -> None:
    config, _ = _app(tmp_path, FACTORIES, {"broken": "nope"})
    with pytest.raises(GraphLoadError, match=r"^graph 'broken' .*has no attribute 'nope'$"):
        load_graphs(config)


@pytest.fixture
def env_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Variable names a test may set through langgraph.json; unset before, restored (unset) after."""
    names = [f"KEEL_TEST_ENV_{uuid.uuid4().hex[:8].upper()}" for _ in range(3)]
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return names


def test_env_from_a_mapping_is_applied_before_graphs_load_and_the_real_environment_wins(
    tmp_path: Path, env_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _ = env_names
    monkeypatch.setenv(second, "from the shell")
    source = FACTORIES + f"\nimport os\nSEEN = os.environ.get({first!r})\n"
    config, package = _app(tmp_path, source, {"g": "compiled"}, env={first: "from json", second: "from json"})
    load_graphs(config)
    assert sys.modules[f"{package}.graphs"].SEEN == "from json"
    assert (os.environ[first], os.environ[second]) == ("from json", "from the shell")


def test_env_from_a_file(tmp_path: Path, env_names: list[str]) -> None:
    first, second, _ = env_names
    (tmp_path / ".env.graphs").write_text(f"{first}=one\n# a comment\n{second}='two words'\n")
    config, _ = _app(tmp_path, FACTORIES, {"g": "compiled"}, env=".env.graphs")
    load_graphs(config)
    assert (os.environ[first], os.environ[second]) == ("one", "two words")


@pytest.mark.parametrize(
    ("sections", "reason"),
    [
        ({"env": "./missing.env"}, r"^env: file not found: .*missing\.env$"),
        ({"env": {"A": 1}}, r"^env: expected a path to a \.env file or an object of strings"),
        ({"dependencies": "."}, r"^dependencies: expected a list"),
        ({"dependencies": ["./nowhere"]}, r"^dependencies: './nowhere' is not a folder"),
        ({"http": {"app": "./nowhere.py:app"}}, r"^http\.app \(\./nowhere\.py:app\): file not found"),
        ({"http": []}, r"^http: expected an object"),
        ({"auth": {"path": "./auth_mod.py:not_auth"}}, r"^auth\.path .*: is a str, expected a langgraph_sdk\.Auth"),
        ({"auth": {"openapi": {}}}, r'^auth: expected an object with a "path"'),
        ({"auth": {"path": "./auth_mod.py:no_authenticate"}}, r"^auth\.path .*: has no @auth\.authenticate handler"),
        ({"auth": {"path": "./auth_mod.py:odd_parameters"}}, r"^auth\.path .*: @auth\.authenticate asks for body2"),
        ({"store": {"index": {"dims": "many", "embed": "x"}}}, r"^store: index\.dims: "),
        ({"store": {"index": {"embed": "x"}}}, r"^store: index\.dims: Field required$"),
        ({"store": {"ttl": {"default_ttl": -1}}}, r"^store: ttl\.default_ttl: "),
    ],
)
def test_a_broken_section_stops_start_up_in_one_line(tmp_path: Path, sections: dict[str, Any], reason: str) -> None:
    (tmp_path / "auth_mod.py").write_text(AUTH_MOD)
    config, _ = _app(tmp_path, FACTORIES, {"g": "compiled"}, **sections)
    with pytest.raises(GraphLoadError) as caught:
        load_graphs(config)
    assert "\n" not in str(caught.value)
    assert re.search(reason, str(caught.value)), str(caught.value)


def test_path_dependencies_join_the_import_path_and_packages_are_noted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = f"lib_{uuid.uuid4().hex[:8]}"
    (tmp_path / "libs" / "shared" / "src" / library).mkdir(parents=True)
    (tmp_path / "libs" / "shared" / "src" / library / "__init__.py").write_text("REPLY = 'from a src layout'\n")
    source = FACTORIES + f"\nfrom {library} import REPLY\nfrom_library = build(REPLY)\n"
    config, _ = _app(tmp_path, source, {"g": "from_library"}, dependencies=[".", "./libs/shared", "langchain-openai"])
    with caplog.at_level(logging.INFO, logger="server.app_sections"):
        loaded = load_graphs(config)
    assert loaded["g"].invoke({}) == {"reply": "from a src layout"}
    assert str(tmp_path / "libs" / "shared" / "src") in sys.path
    assert any("'langchain-openai' is a package" in record.getMessage() for record in caplog.records)


AUTH_MOD = """
from langgraph_sdk import Auth

not_auth = 'a string'
no_authenticate = Auth()
odd_parameters = Auth()


@odd_parameters.authenticate
async def authenticate(body2: dict) -> str:
    return "someone"
"""

HTTP_AND_AUTH = """
from fastapi import FastAPI
from langgraph_sdk import Auth

app = FastAPI()
auth = Auth()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    return "someone"
"""


def test_http_app_auth_and_store_sections_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "web.py").write_text(HTTP_AND_AUTH)
    store = {"index": {"dims": 8, "embed": "fake:embeddings", "fields": ["$"]}, "ttl": {"default_ttl": 60}}
    http = {"app": "./web.py:app", "configurable_headers": {"include": ["x-user-*"]}}
    config, _ = _app(tmp_path, FACTORIES, {"g": "compiled"}, http=http, auth={"path": "./web.py:auth"}, store=store)
    with caplog.at_level(logging.INFO, logger="server.graph_loading"):
        loaded = load_graphs(config)
    sections = loaded.sections
    assert isinstance(sections.http_app, Starlette)
    assert sections.http == http
    assert type(sections.auth).__name__ == "Auth"
    assert sections.store == store
    assert any("every request is authenticated with ./web.py:auth" in r.getMessage() for r in caplog.records)
    assert loaded.with_checkpointer(InMemorySaver()).sections is sections


FAILING_FACTORY = (
    FACTORIES
    + """

def fails_on_demand(config: RunnableConfig):
    if config["configurable"].get("fail"):
        raise RuntimeError("no graph for this run")
    return build("built")
"""
)


@pytest.mark.slow
async def test_a_factory_raising_for_a_run_ends_that_run_as_an_error_and_the_next_run_serves(
    tmp_path: Path, keel_server: Callable[..., KeelServer]
) -> None:
    config, _ = _app(tmp_path, FAILING_FACTORY, {"maybe": "fails_on_demand"})
    server = keel_server(config, workers=1)
    async with get_client(url=server.url) as client:
        failed = await client.runs.wait(
            None, "maybe", input={}, config={"configurable": {"fail": True}}, raise_error=False
        )
        assert failed == {"__error__": {"error": "error", "message": "RuntimeError: no graph for this run"}}
        assert await client.runs.wait(None, "maybe", input={}) == {"reply": "built"}
