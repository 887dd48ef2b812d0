"""The `/store` API over LangGraph's store (the one every graph gets as `runtime.store`), as LangGraph Server
serves it: namespace labels are checked first (422, as there), what the store itself refuses (an empty
namespace, a `langgraph` root label, an unknown filter operator) is a 400, and items come out as
`Item.dict()` (a search's with its `score`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from langgraph.store.base import BaseStore

from server.errors import BadRequest, InvalidInput

Namespace = tuple[str, ...]


def namespace_of(labels: Sequence[str] | None) -> Namespace:
    """The labels as a namespace; a label that is empty or has a period is refused (422)."""
    for label in labels or ():
        if not label or "." in label:
            raise InvalidInput(f"Namespace label {label!r} must be a non-empty string without periods")
    return tuple(labels or ())


def dotted_namespace(text: str | None) -> Namespace:
    """`GET /store/items` names its namespace as one query value, labels joined by periods (as the SDK sends it)."""
    return namespace_of((text or "").split("."))


@contextmanager
def _refused() -> Iterator[None]:
    """The store's own checks raise ValueError (InvalidNamespaceError among them): the request's fault."""
    try:
        yield
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def put_item(
    store: BaseStore,
    namespace: Namespace,
    key: str,
    value: dict[str, Any],
    *,
    index: Literal[False] | list[str] | None,
    ttl: float | None,
) -> None:
    with _refused():
        if ttl is None:  # the SDK leaves `ttl` out when it has none: the store's `default_ttl` applies
            await store.aput(namespace, key, value, index=index)
        else:
            await store.aput(namespace, key, value, index=index, ttl=ttl)


async def get_item(
    store: BaseStore, namespace: Namespace, key: str, *, refresh_ttl: bool | None
) -> dict[str, Any] | None:
    with _refused():
        item = await store.aget(namespace, key, refresh_ttl=refresh_ttl)
    return None if item is None else item.dict()


async def delete_item(store: BaseStore, namespace: Namespace, key: str) -> None:
    with _refused():
        await store.adelete(namespace, key)


async def search_items(
    store: BaseStore,
    namespace_prefix: Namespace,
    *,
    filter: dict[str, Any] | None,
    limit: int,
    offset: int,
    query: str | None,
    refresh_ttl: bool | None,
) -> dict[str, Any]:
    with _refused():
        items = await store.asearch(
            namespace_prefix, filter=filter, limit=limit, offset=offset, query=query, refresh_ttl=refresh_ttl
        )
    return {"items": [item.dict() for item in items]}


async def list_namespaces(
    store: BaseStore,
    *,
    prefix: Namespace | None,
    suffix: Namespace | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    with _refused():
        found = await store.alist_namespaces(
            prefix=prefix, suffix=suffix, max_depth=max_depth, limit=limit, offset=offset
        )
    return {"namespaces": [list(namespace) for namespace in found]}
