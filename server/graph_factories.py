"""What a `langgraph.json` graph entry names, made into a graph: a compiled graph, a `StateGraph` (compiled
here), or a factory called the way LangGraph Server calls one.

A factory takes no argument, the run's `RunnableConfig`, LangGraph's `ServerRuntime` (`langgraph_sdk.runtime`;
the parameter annotated with it), or both in either order (passed by keyword). It is sync or async and returns
the graph (compiled or a `StateGraph`), an awaitable of it, or a context manager, sync or async, that yields
it: entered before the run and exited after it.

A sync factory taking no argument is called once, at start-up. Every other factory is called for each run,
with that run's config and an execution `ServerRuntime` holding its context (LangGraph Server calls every
factory, the no-argument ones too, each time it needs the graph). Such a factory is also called once at
start-up, with an empty config and a read `ServerRuntime` (`assistants.read`), for the graph keel reads schemas
and thread state with: LangGraph asks every call of a factory to give the same topology.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import typing
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, cast, get_args, get_origin

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph_sdk.runtime import ServerRuntime, _ExecutionRuntime, _ReadRuntime

from server.user_code import UserCodeError, one_line

Graph = Pregel[Any, Any, Any, Any]
Access = Literal["threads.create_run", "assistants.read"]
_RUNTIME_CLASSES = (_ExecutionRuntime, _ReadRuntime)
_NAMES = {"ServerRuntime": ServerRuntime, "RunnableConfig": RunnableConfig}


def resolve(obj: Any, where: str) -> tuple[Graph, GraphFactory | None]:
    """The graph for start-up (schemas, state reads; the run's graph too unless a factory is returned), and the
    factory to call for each run, if any."""
    if isinstance(obj, Pregel | StateGraph):
        return to_graph(obj, where), None
    if not callable(obj):
        raise UserCodeError(f"{where}: is a {type(obj).__name__}, expected a compiled graph, a StateGraph or a factory")
    factory = GraphFactory.of(obj, where)
    value = factory.call_at_start_up()
    if isinstance(value, Pregel | StateGraph):
        graph = to_graph(value, where, made=True)
    else:  # an awaitable or a context manager: made again for each run, whatever the factory's signature
        graph = _in_own_loop(_first_graph(value, where))
        factory = replace(factory, per_run=True)
    return graph, factory if factory.per_run else None


@dataclass(frozen=True)
class GraphFactory:
    function: Callable[..., Any]
    config_param: str | None
    runtime_param: str | None
    per_run: bool  # False only for a sync factory taking nothing that returns the graph itself
    where: str

    @classmethod
    def of(cls, function: Callable[..., Any], where: str) -> GraphFactory:
        config_param, runtime_param = _parameters(function, where)
        unwrapped = inspect.unwrap(function)
        is_async = any(
            check(unwrapped) or check(getattr(unwrapped, "__call__", None))  # noqa: B004  # a callable object's method
            for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction, inspect.isgeneratorfunction)
        )
        per_run = bool(config_param or runtime_param or is_async)
        return cls(function, config_param, runtime_param, per_run, where)

    def call_at_start_up(self) -> Any:
        """Its value for start-up: with an empty config and a read runtime (no store, no context)."""
        try:
            return self._call({"configurable": {}}, access="assistants.read", store=None, context=None)
        except Exception as exc:  # user code
            raise UserCodeError(f"{self.where}: the factory raised {one_line(exc)}") from None

    @asynccontextmanager
    async def open(self, config: RunnableConfig, *, store: BaseStore | None, context: Any) -> AsyncIterator[Graph]:
        """The graph for one run, held for the run (a context manager the factory returned stays entered)."""
        value = self._call(config, access="threads.create_run", store=store, context=context)
        async with AsyncExitStack() as stack:
            with _current(config):
                built = await _enter(stack, value)
            yield to_graph(built, self.where, made=True)

    def _call(self, config: RunnableConfig, *, access: Access, store: BaseStore | None, context: Any) -> Any:
        kwargs: dict[str, Any] = {}
        if self.config_param:
            kwargs[self.config_param] = config
        if self.runtime_param:
            kwargs[self.runtime_param] = server_runtime(access, store, context)
        with _current(config):
            return self.function(**kwargs)


def server_runtime(access: Access, store: BaseStore | None, context: Any) -> Any:
    """LangGraph's `ServerRuntime` for a factory call: an execution one (with the run's context) for a run, a read
    one otherwise. keel has no authenticated user to give (`user` is None)."""
    store = cast(BaseStore, store)  # None until a store is configured; LangGraph types it as always present
    if access == "threads.create_run":
        return _ExecutionRuntime(access_context=access, store=store, context=copy.copy(context))
    return _ReadRuntime(access_context=access, store=store)


def to_graph(obj: Any, where: str, *, made: bool = False) -> Graph:
    if isinstance(obj, Pregel):
        return obj
    if isinstance(obj, StateGraph):
        try:
            return obj.compile()
        except Exception as exc:  # the builder is invalid (unknown node in an edge, ...)
            raise UserCodeError(f"{where}: the StateGraph does not compile: {one_line(exc)}") from None
    kind = type(obj).__name__
    if made:
        raise UserCodeError(f"{where}: the factory returned a {kind}, expected a compiled graph or a StateGraph")
    raise UserCodeError(f"{where}: is a {kind}, expected a compiled graph, a StateGraph or a factory")


def _parameters(function: Callable[..., Any], where: str) -> tuple[str | None, str | None]:
    """(the config parameter's name, the runtime parameter's name), as LangGraph Server tells them apart: a
    parameter annotated `ServerRuntime` gets the runtime, any other the config."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None, None  # a builtin without a signature: called with nothing
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    hints = _hints(function)
    # A parameter with a default keeps it unless it asks for a config or a runtime (LangGraph Server would pass
    # the config to any one parameter: a builder such as `build(workers=DEFAULTS)` would get it).
    params = [
        param
        for param in signature.parameters.values()
        if param.kind in kinds
        and (param.default is inspect.Parameter.empty or _asks(param, hints.get(param.name, param.annotation)))
    ]
    runtime = [param.name for param in params if _is_runtime(hints.get(param.name, param.annotation))]
    others = [param.name for param in params if param.name not in runtime]
    if len(params) <= 1 or (len(params) == 2 and len(runtime) == 1):
        return (others[0] if others else None), (runtime[0] if runtime else None)
    raise UserCodeError(
        f"{where}: a factory takes no argument, a config, a ServerRuntime or both (the runtime annotated "
        f"`ServerRuntime`); this one takes {', '.join(param.name for param in params)}"
    )


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, localns=_NAMES)
    except Exception:  # an annotation that does not resolve: the raw annotations are read instead
        return {}


def _asks(param: inspect.Parameter, annotation: Any) -> bool:
    """A parameter with a default that wants the config or the runtime all the same."""
    if param.name == "config" or _is_runtime(annotation):
        return True
    named = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return "RunnableConfig" in named


def _is_runtime(annotation: Any) -> bool:
    if isinstance(annotation, str):  # unresolved: judged by name
        return annotation.split("[")[0].strip().rsplit(".", 1)[-1] == "ServerRuntime"
    if annotation is ServerRuntime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, _RUNTIME_CLASSES)
    origin = get_origin(annotation)
    if origin is ServerRuntime:
        return True
    if origin is Annotated:
        return _is_runtime(get_args(annotation)[0])
    return False


@contextmanager
def _current(config: RunnableConfig) -> Iterator[None]:
    """The factory's config as the current one (LangGraph's `get_config()` inside the factory), as LangGraph
    Server sets it; only while the factory runs, never around the graph's run."""
    token = var_child_runnable_config.set(config)
    try:
        yield
    finally:
        var_child_runnable_config.reset(token)


async def _enter(stack: AsyncExitStack, value: Any) -> Any:
    if hasattr(value, "__aenter__") and hasattr(value, "__aexit__"):
        return await stack.enter_async_context(value)
    if hasattr(value, "__enter__") and hasattr(value, "__exit__"):
        return stack.enter_context(value)
    if inspect.isawaitable(value):
        return await value
    return value


async def _first_graph(value: Any, where: str) -> Graph:
    """The graph a factory's value gives, its context manager (if any) exited again: for start-up."""
    try:
        async with AsyncExitStack() as stack:
            built = await _enter(stack, value)
            return to_graph(built, where, made=True)
    except UserCodeError:
        raise
    except Exception as exc:  # user code
        raise UserCodeError(f"{where}: the factory raised {one_line(exc)}") from None


def _in_own_loop(coroutine: Coroutine[Any, Any, Graph]) -> Graph:
    """Run an async factory's start-up call to the end, from sync loading code that may itself be inside an event
    loop (a test's create_app): in a thread with an event loop of its own."""
    with ThreadPoolExecutor(1, thread_name_prefix="keel-graph-load") as pool:
        return pool.submit(asyncio.run, coroutine).result()
