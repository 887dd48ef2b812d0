"""The `/store` API over LangGraph's store (the one every graph gets as `runtime.store`), as LangGraph Server
serves it: namespace labels are checked first (422, as there), what the store itself refuses (an empty
namespace, a `langgraph` root label, an unknown filter operator) is a 400, and items come out as
`Item.dict()` (a search's with its `score`).

Under langgraph.json `auth`, each operation first runs the `store.<action>` handler on the request's fields, as
LangGraph Server does: it may deny (403) or rewrite them (LangGraph's docs prefix `value["namespace"]` with the
caller's identity), and the store gets the rewritten ones, labels checked again. Filters a handler returns are
ignored, as there, except a search's: LangGraph Server applies them to the items' values, and so does keel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from langgraph.store.base import BaseStore

from server.auth.access import Access
from server.auth.filters import FilterError, Filters
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


async def _authorized(access: Access, action: str, value: dict[str, Any]) -> Filters | None:
    """The `store.<action>` handler on `value`: it may rewrite it in place; its namespace is checked again."""
    filters = await access.authorize("store", action, value)
    for field in ("namespace", "suffix"):
        if value.get(field) is not None:
            value[field] = namespace_of(value[field])
    return filters


async def put_item(
    store: BaseStore,
    access: Access,
    namespace: Namespace,
    key: str,
    value: dict[str, Any],
    *,
    index: Literal[False] | list[str] | None,
    ttl: float | None,
) -> None:
    put: dict[str, Any] = {"namespace": namespace, "key": key, "value": value, "index": index, "ttl": ttl}
    await _authorized(access, "put", put)
    with _refused():
        if put["ttl"] is None:  # the SDK leaves `ttl` out when it has none: the store's `default_ttl` applies
            await store.aput(put["namespace"], put["key"], put["value"], index=put["index"])
        else:
            await store.aput(put["namespace"], put["key"], put["value"], index=put["index"], ttl=put["ttl"])


async def get_item(
    store: BaseStore, access: Access, namespace: Namespace, key: str, *, refresh_ttl: bool | None
) -> dict[str, Any] | None:
    get: dict[str, Any] = {"namespace": namespace, "key": key, "refresh_ttl": refresh_ttl}
    await _authorized(access, "get", get)
    with _refused():
        item = await store.aget(get["namespace"], get["key"], refresh_ttl=get["refresh_ttl"])
    return None if item is None else item.dict()


async def delete_item(store: BaseStore, access: Access, namespace: Namespace, key: str) -> None:
    delete: dict[str, Any] = {"namespace": namespace, "key": key}
    await _authorized(access, "delete", delete)
    with _refused():
        await store.adelete(delete["namespace"], delete["key"])


async def search_items(
    store: BaseStore,
    access: Access,
    namespace_prefix: Namespace,
    *,
    filter: dict[str, Any] | None,
    limit: int,
    offset: int,
    query: str | None,
    refresh_ttl: bool | None,
) -> dict[str, Any]:
    search: dict[str, Any] = {
        "namespace": namespace_prefix,
        "filter": filter,
        "limit": limit,
        "offset": offset,
        "query": query,
        "refresh_ttl": refresh_ttl,
    }
    auth = await _authorized(access, "search", search)
    combined = _with_auth(search["filter"], auth)
    if combined is None:
        return {"items": []}
    with _refused():
        items = await store.asearch(
            search["namespace"],
            filter=combined or None,
            limit=search["limit"],
            offset=search["offset"],
            query=search["query"],
            refresh_ttl=search["refresh_ttl"],
        )
    return {"items": [item.dict() for item in items]}


def _with_auth(filter: dict[str, Any] | None, auth: Filters | None) -> dict[str, Any] | None:
    """The search's value filter and the handler's, both to hold (None: they contradict, nothing matches). The
    store knows field equality, not the handlers' `$contains`, `$or` or `$and`: those are a 500 naming them."""
    combined: dict[str, Any] = dict(filter or {})
    for field, wanted in (auth or {}).items():
        if field.startswith("$") or (isinstance(wanted, dict) and set(wanted) != {"$eq"}):
            raise FilterError(
                f"store.search handler returned the filter {field}: {wanted!r}; store items take field equality "
                "only ({'field': value} or {'field': {'$eq': value}})"
            )
        value = wanted["$eq"] if isinstance(wanted, dict) else wanted
        given = combined.get(field)
        if given is None and field not in combined:
            combined[field] = value
        elif isinstance(given, dict):
            if "$eq" in given and given["$eq"] != value:
                return None
            combined[field] = {**given, "$eq": value}
        elif given != value:
            return None
    return combined


async def list_namespaces(
    store: BaseStore,
    access: Access,
    *,
    prefix: Namespace | None,
    suffix: Namespace | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    listing: dict[str, Any] = {
        "namespace": prefix,
        "suffix": suffix,
        "max_depth": max_depth,
        "limit": limit,
        "offset": offset,
    }
    await _authorized(access, "list_namespaces", listing)
    with _refused():
        found = await store.alist_namespaces(
            prefix=listing["namespace"] or None,
            suffix=listing["suffix"] or None,
            max_depth=listing["max_depth"],
            limit=listing["limit"],
            offset=listing["offset"],
        )
    return {"namespaces": [list(namespace) for namespace in found]}
