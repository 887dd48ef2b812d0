"""The filters an `@auth.on…` handler returns, as a SQL condition on a jsonb metadata column.

LangGraph Server's grammar: `{"owner": "alice"}` and `{"owner": {"$eq": "alice"}}` (the value equals),
`{"tags": {"$contains": "x"}}` (the array holds `x`; a list: holds each), `{"$or": [f1, f2, …]}` and
`{"$and": [f1, f2, …]}` (at least two filters each, nested at most `MAX_DEPTH` deep). A filter outside it is a
500 naming the mistake: the auth code is wrong, and guessing would leak or hide rows.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from server.errors import KeelError

Filters = dict[str, Any]
MAX_DEPTH = 2


class FilterError(KeelError):
    """500: an auth handler returned a filter keel cannot apply."""


def metadata_clause(filters: Filters | None, column: sql.Composable) -> sql.Composable:
    """A condition true for rows whose `column` (jsonb) satisfies `filters`; TRUE when there are none."""
    if not filters:
        return sql.SQL("TRUE")
    return _all(filters, column, depth=0)


def _all(filters: Filters, column: sql.Composable, depth: int) -> sql.Composable:
    if not isinstance(filters, dict):
        raise FilterError(f"auth handler returned a filter that is a {type(filters).__name__}, expected an object")
    clauses = [_one(key, value, column, depth) for key, value in filters.items()]
    return sql.SQL("({})").format(sql.SQL(" AND ").join(clauses)) if clauses else sql.SQL("TRUE")


def _one(key: str, value: Any, column: sql.Composable, depth: int) -> sql.Composable:
    if key in ("$or", "$and"):
        if depth >= MAX_DEPTH:
            raise FilterError(f"auth handler returned filters nested more than {MAX_DEPTH} deep")
        if not isinstance(value, list) or len(value) < 2:
            raise FilterError(f"auth handler returned {key} with {value!r}; expected a list of at least 2 filters")
        joiner = " OR " if key == "$or" else " AND "
        return sql.SQL("({})").format(sql.SQL(joiner).join(_all(item, column, depth + 1) for item in value))
    if key.startswith("$"):
        raise FilterError(f"auth handler returned the unknown filter operator {key}; expected $or or $and")
    field = sql.SQL("{} -> {}").format(column, sql.Literal(key))
    if isinstance(value, dict):
        if len(value) != 1:
            raise FilterError(f"auth handler returned the filter {key}: {value!r}; expected {{'$eq' | '$contains': v}}")
        ((operator, operand),) = value.items()
        if operator == "$eq":
            return sql.SQL("{} = {}").format(field, sql.Literal(Jsonb(operand)))
        if operator == "$contains":
            items = operand if isinstance(operand, list) else [operand]
            return sql.SQL("({} @> {} AND jsonb_typeof({}) = 'array')").format(field, sql.Literal(Jsonb(items)), field)
        raise FilterError(f"auth handler returned the filter operator {operator} on {key}; expected $eq or $contains")
    return sql.SQL("{} = {}").format(field, sql.Literal(Jsonb(value)))
