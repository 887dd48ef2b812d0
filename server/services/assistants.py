"""Assistants: one per graph in langgraph.json (a "system" assistant), plus named configurations.

A system assistant's id is uuid5 of its graph id (the namespace LangGraph Server uses), so ids
are the same on every keel and every restart; everywhere an assistant id is accepted, the graph
id may be given instead. Rows live in `keel.assistants`; assistants of graphs that are not loaded
are hidden from search. Each row is the current one of its stored versions (`assistant_versions`): every
change is a new version, taken under the row's lock so concurrent changes get distinct numbers.

Under langgraph.json `auth`, each operation runs the `assistants.<action>` handler as LangGraph Server does (it may
edit a create's or update's metadata, deny with 403, or return filters on the assistant's metadata, applied in SQL:
an assistant outside them is a 404, as an unknown one). System assistants hold no user data and clients look them
up by graph id, so every caller may read and search them whatever the filters; but only a caller whose handler
returns no filters (an admin's) may change or delete one. A handler's outright denial (403) holds for them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID, uuid4, uuid5

from psycopg import sql
from psycopg.types.json import Jsonb

from server.auth.access import Access
from server.auth.filters import Filters, metadata_clause
from server.db.pool import Connection, Pool
from server.errors import Conflict, NotFound
from server.graph_loading import LoadedGraphs
from server.serialize import to_json_compatible
from server.services import assistant_versions as versions

NAMESPACE_GRAPH = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
SortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
SortOrder = Literal["asc", "desc"]
FIELDS = (
    *("assistant_id", "graph_id", "config", "context", "created_at", "updated_at"),
    *("metadata", "version", "name", "description"),
)
OPEN = Access()  # no langgraph.json `auth`: every operation allowed, no filters


def system_assistant_id(graph_id: str) -> UUID:
    return uuid5(NAMESPACE_GRAPH, graph_id)


async def register_system_assistants(pool: Pool, graphs: LoadedGraphs) -> None:
    """Create one assistant per loaded graph (version 1); when a graph's description changed since, store it
    as a new version, as LangGraph Server does. Safe to run from several processes at once."""
    async with pool.connection() as conn:
        for graph_id in graphs:
            description = graphs.entry(graph_id).description
            async with conn.transaction():
                cur = await conn.execute(
                    """INSERT INTO keel.assistants (assistant_id, graph_id, name, description, metadata)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT (assistant_id) DO NOTHING RETURNING *""",
                    (system_assistant_id(graph_id), graph_id, graph_id, description, Jsonb({"created_by": "system"})),
                )
                created = await cur.fetchone()
                if created is not None:
                    await versions.store_version(conn, created)
                    continue
                current = await _locked_row(conn, system_assistant_id(graph_id))
                if current is not None and current["description"] != description:
                    await _store_new_version(conn, current["assistant_id"], {"description": description})


def assistant_json(row: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    fields = [f for f in FIELDS if f in select] if select else FIELDS
    return {field: to_json_compatible(row[field]) for field in fields}


def _uid(graphs: LoadedGraphs, assistant_id: str) -> UUID:
    """The assistant UUID an assistant id or a graph id names; `NotFound` for neither."""
    if assistant_id in graphs or assistant_id in graphs.broken:
        graphs.entry(assistant_id)  # a graph that failed to load: NotFound saying why
        return system_assistant_id(assistant_id)
    try:
        return UUID(assistant_id)
    except ValueError:
        known = ", ".join(graphs) or "none"
        raise NotFound(
            f"assistant {assistant_id!r} not found: not an assistant UUID and not a graph id (graphs: {known})"
        ) from None


def _system_ids(graphs: LoadedGraphs) -> list[UUID]:
    return [system_assistant_id(graph_id) for graph_id in (*graphs, *graphs.broken)]


def _visible(graphs: LoadedGraphs, filters: Filters | None, *, system: bool) -> sql.Composable:
    """Rows within the handler's `filters`; with `system`, the system assistants too (reads and searches)."""
    clause = metadata_clause(filters, sql.Identifier("metadata"))
    if not filters or not system:
        return clause
    return sql.SQL("({} OR assistant_id = ANY({}))").format(clause, sql.Literal(_system_ids(graphs)))


_BY_ID = "SELECT * FROM keel.assistants WHERE assistant_id = %s"


async def get_assistant(
    conn: Connection,
    graphs: LoadedGraphs,
    assistant_id: str,
    *,
    access: Access = OPEN,
    action: str = "read",
    value: dict[str, Any] | None = None,
    lock: bool = False,
) -> dict[str, Any]:
    """The row for an assistant id or a graph id, once the `assistants.<action>` handler allowed it (it may edit
    `value`); `NotFound` if there is none within the handler's filters (`lock`: locked for the transaction)."""
    uid = _uid(graphs, assistant_id)
    filters = await access.authorize("assistants", action, {"assistant_id": str(uid), **(value or {})})
    if not filters and not lock:
        # Every run's creation reads its assistant so: one statement, prepared once, nothing composed per call.
        row = await (await conn.execute(_BY_ID, (uid,))).fetchone()
    else:
        query = sql.SQL("SELECT * FROM keel.assistants WHERE assistant_id = {} AND {}{}").format(
            sql.Literal(uid),
            _visible(graphs, filters, system=action in ("read", "search")),
            sql.SQL(" FOR UPDATE" if lock else ""),
        )
        row = await (await conn.execute(query)).fetchone()
    if row is None:
        raise NotFound(f"assistant {assistant_id} not found")
    return row


@dataclass(frozen=True)
class Assistant:
    assistant_id: str
    graph_id: str
    config: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def run_timeout_s(self) -> float | None:
        """A named assistant may shorten or lengthen KEEL_RUN_TIMEOUT with metadata `run_timeout_s`."""
        value = self.metadata.get("run_timeout_s")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def merged_config(self, run_config: dict[str, Any] | None) -> dict[str, Any]:
        """The assistant's config under the run's: run keys win, `configurable` merges key by key."""
        run_config = run_config or {}
        merged = {**self.config, **run_config}
        merged["configurable"] = {**(self.config.get("configurable") or {}), **(run_config.get("configurable") or {})}
        return merged


async def resolve_assistant(
    conn: Connection, graphs: LoadedGraphs, assistant_id: str, access: Access = OPEN
) -> Assistant:
    """A graph id or an assistant id (system or named) to the graph and stored configuration to run. Running a
    named assistant needs `assistants.read` on it, as LangGraph Server asks at run creation (404 outside its
    filters); a system assistant is everyone's (no handler runs for it, as there)."""
    system = _uid(graphs, assistant_id) in _system_ids(graphs)
    row = await get_assistant(conn, graphs, assistant_id, access=OPEN if system else access)
    if row["graph_id"] not in graphs:
        known = ", ".join(graphs) or "none"
        raise NotFound(
            f"assistant {assistant_id} runs graph {row['graph_id']!r}, which is not loaded (loaded: {known})"
        )
    return Assistant(str(row["assistant_id"]), row["graph_id"], row["config"], row["context"], row["metadata"])


def _filters(
    graphs: LoadedGraphs,
    graph_id: str | None,
    metadata: dict[str, Any] | None,
    name: str | None,
    auth: Filters | None,
) -> sql.Composed:
    clauses: list[sql.Composable] = [
        sql.SQL("graph_id = ANY({})").format(sql.Literal(list(graphs))),
        _visible(graphs, auth, system=True),
    ]
    if graph_id:
        clauses.append(sql.SQL("graph_id = {}").format(sql.Literal(graph_id)))
    if metadata:
        clauses.append(sql.SQL("metadata @> {}").format(sql.Literal(Jsonb(metadata))))
    if name:
        clauses.append(sql.SQL("name ILIKE {}").format(sql.Literal(f"%{name}%")))
    return sql.SQL(" AND ").join(clauses)


async def search_assistants(
    conn: Connection,
    graphs: LoadedGraphs,
    *,
    access: Access = OPEN,
    graph_id: str | None,
    metadata: dict[str, Any] | None,
    name: str | None,
    limit: int,
    offset: int,
    sort_by: SortBy,
    sort_order: SortOrder,
) -> tuple[list[dict[str, Any]], bool]:
    """A page of rows (within the `assistants.search` handler's filters), and whether there are more after it."""
    value = {"graph_id": graph_id, "metadata": dict(metadata or {}), "limit": limit, "offset": offset}
    auth = await access.authorize("assistants", "search", value)
    query = sql.SQL("SELECT * FROM keel.assistants WHERE {} ORDER BY {} {}, assistant_id LIMIT {} OFFSET {}").format(
        _filters(graphs, graph_id, metadata, name, auth),
        sql.Identifier(sort_by),
        sql.SQL("ASC" if sort_order == "asc" else "DESC"),
        sql.Literal(limit + 1),
        sql.Literal(offset),
    )
    rows = await (await conn.execute(query)).fetchall()
    return rows[:limit], len(rows) > limit


async def count_assistants(
    conn: Connection,
    graphs: LoadedGraphs,
    *,
    access: Access = OPEN,
    graph_id: str | None,
    metadata: dict[str, Any] | None,
    name: str | None,
) -> int:
    auth = await access.authorize("assistants", "search", {"graph_id": graph_id, "metadata": dict(metadata or {})})
    query = sql.SQL("SELECT count(*) AS n FROM keel.assistants WHERE {}").format(
        _filters(graphs, graph_id, metadata, name, auth)
    )
    row = await (await conn.execute(query)).fetchone()
    return int(row["n"]) if row else 0


async def create_assistant(
    conn: Connection,
    graphs: LoadedGraphs,
    *,
    graph_id: str,
    assistant_id: UUID | None,
    config: dict[str, Any],
    context: dict[str, Any],
    metadata: dict[str, Any],
    name: str,
    description: str | None,
    if_exists: Literal["raise", "do_nothing"],
    access: Access = OPEN,
) -> dict[str, Any]:
    """A new assistant, with the config, context and metadata as the `assistants.create` handler leaves them
    (e.g. metadata stamped with an owner). With `do_nothing`, an existing one is answered only within the
    handler's filters (else 409, as `raise`)."""
    graphs.entry(graph_id)  # NotFound unless loaded
    uid = assistant_id or uuid4()
    value: dict[str, Any] = {
        "assistant_id": str(uid),
        "graph_id": graph_id,
        "config": config,
        "context": context,
        "metadata": dict(metadata),
        "if_exists": if_exists,
        "name": name,
    }
    filters = await access.authorize("assistants", "create", value)
    config, context = value.get("config") or {}, value.get("context") or {}
    metadata = value.get("metadata") or {}
    async with conn.transaction():
        cur = await conn.execute(
            """INSERT INTO keel.assistants (assistant_id, graph_id, name, description, config, context, metadata)
               VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (assistant_id) DO NOTHING RETURNING *""",
            (uid, graph_id, name, description, Jsonb(config), Jsonb(context), Jsonb(metadata)),
        )
        row = await cur.fetchone()
        if row is not None:
            await versions.store_version(conn, row)
    if row is not None:
        return row
    if if_exists == "do_nothing":
        query = sql.SQL("SELECT * FROM keel.assistants WHERE assistant_id = {} AND {}").format(
            sql.Literal(uid), _visible(graphs, filters, system=True)
        )
        if (existing := await (await conn.execute(query)).fetchone()) is not None:
            return existing
    raise Conflict(f"assistant {uid} already exists")


async def update_assistant(
    conn: Connection, graphs: LoadedGraphs, assistant_id: str, changes: dict[str, Any], access: Access = OPEN
) -> dict[str, Any]:
    """Apply the given fields (graph_id, config, context, name, description replace; metadata merges) as a
    new version, made current. The `assistants.update` handler sees them (and may edit the metadata); its filters
    must hold on the assistant (a system one has none to match: not changeable under filters)."""
    value = {key: changes.get(key) for key in ("graph_id", "config", "context", "name")}
    value["metadata"] = dict(changes.get("metadata") or {})
    if changes.get("graph_id") is not None:
        graphs.entry(changes["graph_id"])
    async with conn.transaction():
        row = await get_assistant(conn, graphs, assistant_id, access=access, action="update", value=value, lock=True)
        if value["metadata"] or changes.get("metadata") is not None:
            changes = {**changes, "metadata": value["metadata"]}
        updated = await _store_new_version(conn, row["assistant_id"], changes)
    if updated is None:
        raise NotFound(f"assistant {assistant_id} not found")
    return updated


async def _locked_row(conn: Connection, uid: UUID) -> dict[str, Any] | None:
    """The assistant row, locked until the transaction ends: one version change at a time."""
    cur = await conn.execute("SELECT * FROM keel.assistants WHERE assistant_id = %s FOR UPDATE", (uid,))
    return await cur.fetchone()


async def _store_new_version(conn: Connection, uid: UUID, changes: dict[str, Any]) -> dict[str, Any] | None:
    """In the caller's transaction: the current configuration with `changes` applied, stored as the next
    version and made current. None if the assistant is gone."""
    if await _locked_row(conn, uid) is None:
        return None
    cur = await conn.execute(
        """UPDATE keel.assistants SET
               graph_id = coalesce(%(graph_id)s, graph_id), config = coalesce(%(config)s, config),
               context = coalesce(%(context)s, context), metadata = metadata || %(metadata)s,
               name = coalesce(%(name)s, name), description = coalesce(%(description)s, description),
               version = %(version)s, updated_at = now()
           WHERE assistant_id = %(id)s RETURNING *""",
        {
            "id": uid,
            "version": await versions.next_version(conn, uid),
            "graph_id": changes.get("graph_id"),
            "config": _jsonb_or_none(changes.get("config")),
            "context": _jsonb_or_none(changes.get("context")),
            "metadata": Jsonb(changes.get("metadata") or {}),
            "name": changes.get("name"),
            "description": changes.get("description"),
        },
    )
    updated = await cur.fetchone()
    if updated is not None:
        await versions.store_version(conn, updated)
    return updated


async def list_versions(
    conn: Connection,
    graphs: LoadedGraphs,
    assistant_id: str,
    *,
    metadata: dict[str, Any] | None,
    limit: int,
    offset: int,
    access: Access = OPEN,
) -> list[dict[str, Any]]:
    """A page of the assistant's versions, newest first. Like LangGraph Server, `NotFound` when the page is
    empty, whether the assistant is unknown, outside the `assistants.search` handler's filters, or no version
    matches."""
    value = {"metadata": dict(metadata or {})}
    row = await get_assistant(conn, graphs, assistant_id, access=access, action="search", value=value)
    found = await versions.list_versions(conn, row["assistant_id"], metadata=metadata, limit=limit, offset=offset)
    if not found:
        raise NotFound(f"assistant {assistant_id} not found (no version matches)")
    return found


async def set_latest_version(
    conn: Connection, graphs: LoadedGraphs, assistant_id: str, version: int | None, access: Access = OPEN
) -> dict[str, Any]:
    """Make a stored version current: its configuration is copied onto the assistant row (`assistants.update`,
    as LangGraph Server asks it)."""
    async with conn.transaction():
        value = {"version": version}
        row = await get_assistant(conn, graphs, assistant_id, access=access, action="update", value=value, lock=True)
        stored = None if version is None else await versions.get_version(conn, row["assistant_id"], version)
        if stored is None:
            raise NotFound(f"version {version} of assistant {assistant_id} not found")
        cur = await conn.execute(
            """UPDATE keel.assistants SET graph_id = %s, name = %s, description = %s, config = %s, context = %s,
                   metadata = %s, version = %s, updated_at = now()
               WHERE assistant_id = %s RETURNING *""",
            (
                stored["graph_id"],
                stored["name"],
                stored["description"],
                Jsonb(stored["config"]),
                Jsonb(stored["context"]),
                Jsonb(stored["metadata"]),
                stored["version"],
                row["assistant_id"],
            ),
        )
        updated = await cur.fetchone()
    if updated is None:
        raise NotFound(f"assistant {assistant_id} not found")
    return updated


async def delete_assistant(conn: Connection, graphs: LoadedGraphs, assistant_id: str, access: Access = OPEN) -> UUID:
    row = await get_assistant(conn, graphs, assistant_id, access=access, action="delete")
    await conn.execute("DELETE FROM keel.assistants WHERE assistant_id = %s", (row["assistant_id"],))
    uid: UUID = row["assistant_id"]
    return uid


def _jsonb_or_none(value: dict[str, Any] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)
