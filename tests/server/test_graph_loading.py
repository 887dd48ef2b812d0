"""langgraph.json → compiled graphs on keel's checkpointer. A broken entry is left out with its reason, or with
`strict` fails start-up in one line; the other sections (env, dependencies, http, auth, store) load or fail in one."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

from server.graph_loading import GraphLoadError, load_graphs
from tests.process import KEEL, REPO, KeelProcess
from tests.server.api_graphs import GRAPHS
from tests.server.conftest import checkpoint_rows, graphs_on, write_graphs

SOURCE = (Path(__file__).parent / "api_graphs.py").read_text()


def test_every_kind_of_entry_loads_and_gets_keels_checkpointer(tmp_path: Path):
    config = write_graphs(tmp_path, SOURCE, GRAPHS)
    loaded = load_graphs(config)
    assert list(loaded) == list(GRAPHS)
    assert all(isinstance(graph, CompiledStateGraph) for graph in loaded.values())
    assert loaded["factory"].name == "from_factory"
    saver = InMemorySaver()
    bound = loaded.with_checkpointer(saver)
    assert all(graph.checkpointer is saver for graph in bound.values())
    assert isinstance(loaded["own_saver"].checkpointer, InMemorySaver)
    assert loaded["own_saver"].checkpointer is not saver, "the user's compiled graph is not modified"
    assert bound["own_saver"].name == "own_saver"
    assert bound.entry("chat").spec == "./api_graphs.py:chat"


async def test_a_graph_compiled_with_its_own_saver_checkpoints_to_postgres(tmp_path: Path, database_url: str):
    config = write_graphs(tmp_path, SOURCE, {"own": "./api_graphs.py:own_saver"})
    async with graphs_on(database_url, config) as graphs:
        graph = graphs["own"]
        assert isinstance(graph.checkpointer, AsyncPostgresSaver)
        await graph.ainvoke({"messages": []}, {"configurable": {"thread_id": "t-1"}})
    assert await checkpoint_rows(database_url, "t-1") > 0


def test_a_package_with_relative_imports_loads(tmp_path: Path):
    package = tmp_path / "relpkg_demo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nodes.py").write_text("def node(state):\n    return {'x': 1}\n")
    (package / "agent.py").write_text(
        "from typing_extensions import TypedDict\n"
        "from langgraph.graph import StateGraph, START\n"
        "from .nodes import node\n"
        "class S(TypedDict):\n    x: int\n"
        "graph = StateGraph(S)\ngraph.add_node('node', node)\ngraph.add_edge(START, 'node')\n"
    )
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"rel": "./relpkg_demo/agent.py:graph"}}))
    assert list(load_graphs(config)) == ["rel"]


def test_a_missing_default_registry_means_no_graphs(tmp_path: Path):
    assert len(load_graphs(tmp_path / "langgraph.json", required=False)) == 0
    with pytest.raises(GraphLoadError, match=r"langgraph.json .*not found"):
        load_graphs(tmp_path / "langgraph.json")


BROKEN: dict[str, tuple[Any, str]] = {
    "missing file": ("./nowhere.py:graph", r"file not found: .*nowhere.py"),
    "no colon": ("./api_graphs.py", r'expected "path/to/file.py:attribute"'),
    "two colons": ("./api_graphs.py:a:b", r'expected "path/to/file.py:attribute"'),
    "not a string": (42, r'expected "path/to/file.py:attribute"'),
    "syntax error": ("./bad_syntax.py:graph", r"import failed: SyntaxError: "),
    "import error": ("./bad_import.py:graph", r"import failed: ModuleNotFoundError: No module named 'no_such_mod"),
    "missing attribute": ("./api_graphs.py:nope", r"has no attribute 'nope'"),
    "wrong type": ("./api_graphs.py:GRAPHS", r"is a dict, expected a compiled graph, a StateGraph or a factory"),
    "factory raises": ("./bad_factory.py:raises", r"the factory raised RuntimeError: no graph today"),
    "factory returns junk": ("./bad_factory.py:returns_int", r"the factory returned a int, expected"),
    "factory takes two": ("./bad_factory.py:two_args", r"a factory takes no argument, a config, a ServerRuntime or"),
    "factory takes three": ("./bad_factory.py:three_args", r"this one takes a, b, c"),
    "async factory returns junk": ("./bad_factory.py:async_factory", r"the factory returned a NoneType, expected"),
    "per-run factory raises at start-up": ("./bad_factory.py:raises_on_read", r"factory raised KeyError: 'persona'"),
    "builder does not compile": ("./bad_factory.py:dangling", r"the StateGraph does not compile: ValueError"),
}

BAD_FACTORIES = """
from langgraph.graph import StateGraph, START
from typing_extensions import TypedDict

class S(TypedDict):
    x: int

def raises():
    raise RuntimeError("no graph\\ntoday")

def returns_int(config):
    return 3

def two_args(a, b):
    return None

def three_args(a, b, c):
    return None

def raises_on_read(config):
    return {"x": config["configurable"]["persona"]}

async def async_factory():
    return None

dangling = StateGraph(S)
dangling.add_edge(START, "missing_node")
"""


def _broken_folder(tmp_path: Path, spec: Any) -> Path:
    (tmp_path / "bad_syntax.py").write_text("def broken(:\n")
    (tmp_path / "bad_import.py").write_text("import no_such_mod_for_keel\n")
    (tmp_path / "bad_factory.py").write_text(BAD_FACTORIES)
    return write_graphs(tmp_path, SOURCE, {"good": "./api_graphs.py:chat", "broken": spec})


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_entry_is_one_line_naming_it(tmp_path: Path, kind: str):
    spec, reason = BROKEN[kind]
    with pytest.raises(GraphLoadError) as caught:
        load_graphs(_broken_folder(tmp_path, spec), strict=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("graph 'broken'")
    assert re.search(reason, message), message


@pytest.mark.parametrize("content", ["{not json", '{"graphs": []}', "[]"])
def test_an_unreadable_registry_is_one_line(tmp_path: Path, content: str):
    config = tmp_path / "langgraph.json"
    config.write_text(content)
    with pytest.raises(GraphLoadError, match="graph registry"):
        load_graphs(config)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["env", "flag"])
def test_keel_serve_strict_with_a_broken_entry_exits_with_one_line(tmp_path: Path, how: str):
    config = _broken_folder(tmp_path, "./api_graphs.py:nope")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    args = [*KEEL, "serve", "--strict"]
    if how == "env":
        env["KEEL_CONFIG"] = str(config)
    else:
        args += ["--config", str(config)]
    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"keel: graph 'broken' (./api_graphs.py:nope): {lines[0].split(': ', 2)[2]}"], done.stderr
    assert "has no attribute 'nope'" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".keel").exists(), "graphs load before any database is started"


@pytest.mark.slow
async def test_keel_serve_with_a_broken_entry_logs_it_and_serves_the_others(tmp_path: Path, database_url: str):
    config = _broken_folder(tmp_path, "./api_graphs.py:nope")
    keel = KeelProcess(
        ["serve", "--config", str(config)], env={"DATABASE_URL": database_url}, cwd=tmp_path, log=tmp_path / "keel.log"
    )
    try:
        keel.wait_ready(timeout=30)
        async with get_client(url=keel.base_url) as client:
            assert [found["graph_id"] for found in await client.assistants.search()] == ["good"]
            assert await client.runs.wait(None, "good", input={"messages": []}) is not None
            with pytest.raises(NotFoundError, match=r"graph 'broken' failed to load: .*has no attribute 'nope'"):
                await client.assistants.get("broken")
    finally:
        keel.stop()
    assert "graph 'broken' (./api_graphs.py:nope)" in keel.output() and "has no attribute 'nope'" in keel.output()


USES_ITS_TOOLS = """
from langgraph.graph import StateGraph, START
from typing_extensions import TypedDict
from tools import shout

class S(TypedDict):
    x: str

graph = StateGraph(S)
graph.add_node("shout", lambda state: {"x": shout(state["x"])})
graph.add_edge(START, "shout")
"""


@pytest.mark.parametrize("module", ["tools.py", "tools/__init__.py", "nodes/helpers.py", "server.py"])
def test_a_user_module_named_like_a_keel_package_stops_start_up_naming_file_and_fix(tmp_path: Path, module: str):
    name = module.split("/")[0].removesuffix(".py")
    (tmp_path / module).parent.mkdir(exist_ok=True)
    (tmp_path / module).write_text("def shout(text):\n    return text.upper()\n")
    config = write_graphs(tmp_path, USES_ITS_TOOLS, {"mine": "./agent.py:graph"}, file="agent.py")
    with pytest.raises(GraphLoadError) as caught:
        load_graphs(config)
    shadowed = tmp_path / module.split("/")[0]
    assert str(caught.value) == (
        f"{shadowed} is shadowed by keel's own `{name}` package: rename it, or move your modules into "
        f"a package of your own (my_agent/{name}.py, imported as my_agent.{name})"
    )


def test_a_user_package_of_its_own_coexists_with_keels_packages(tmp_path: Path):
    (tmp_path / "my_agent").mkdir()
    (tmp_path / "my_agent" / "__init__.py").write_text("")
    (tmp_path / "my_agent" / "tools.py").write_text("def shout(text):\n    return text.upper()\n")
    (tmp_path / "server").mkdir()  # not Python: a folder of deployment files is no module
    (tmp_path / "server" / "Dockerfile").write_text("FROM scratch\n")
    source = USES_ITS_TOOLS.replace("from tools import shout", "from my_agent.tools import shout")
    config = write_graphs(tmp_path, source, {"mine": "./my_agent/agent.py:graph"}, file="my_agent/agent.py")
    assert load_graphs(config)["mine"].invoke({"x": "hi"}) == {"x": "HI"}


def test_keels_own_registry_loads_from_its_checkout():
    assert list(load_graphs(REPO / "langgraph.json")) == ["support", "onboarding"]
