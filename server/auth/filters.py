"""STUB of the lead's auth core interface (CORE14.md); main's file replaces this one at the merge."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb


def metadata_clause(filters: dict[str, Any] | None, column: sql.Composable) -> sql.Composable:
    if not filters:
        return sql.SQL("TRUE")
    clauses: list[sql.Composable] = []
    for key, value in filters.items():
        if isinstance(value, dict) and "$contains" in value:
            clauses.append(sql.SQL("{} @> {}").format(column, sql.Literal(Jsonb({key: [value["$contains"]]}))))
        else:
            wanted = value["$eq"] if isinstance(value, dict) and "$eq" in value else value
            clauses.append(sql.SQL("{} @> {}").format(column, sql.Literal(Jsonb({key: wanted}))))
    return sql.SQL("(") + sql.SQL(" AND ").join(clauses) + sql.SQL(")")
