"""The desk between eval tasks: a copy of the seed to reset from, each task's customers put back to it before an
attempt, and what the attempt added afterwards.

Reset: the seed (server/db/migrations/0003_desk_seed.sql) is loaded once into a schema of its own, `evals_seed`, with
the desk tables' columns. Before an attempt, the rows of the task's customers in every desk table are replaced by
their seed rows (customers are updated in place: every other table refers to them). Only those customers' rows are
touched, so tasks on other customers can run at the same time. Rows ids come from the desk's sequences, so a row
added again after a reset gets a new id; the tasks count rows, never name ids added by earlier attempts.

Effects: rows per desk table for the task's customers after the attempt, minus the seed's. Duplicated effects: rows
added to a table beyond the distinct successful calls of the tool that writes it (a replayed write counted twice)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ParamSpec, TypeVar

import psycopg
from psycopg import sql

from evals.dataset import DESK_TABLES
from server.db.migrate import MIGRATIONS_DIR

SEED_SCHEMA = "evals_seed"
SEED_FILE = MIGRATIONS_DIR / "0003_desk_seed.sql"
# Child tables first: a refund refers to an invoice, everything refers to its customer.
_REPLACED = ("refunds", "outbox", "tickets", "workspaces", "invoices", "contracts", "subscriptions")
# The desk table each write tool adds its rows to (enable_paid_plan also updates the customer and subscription).
WRITES: Mapping[str, str] = {
    "issue_refund": "refunds",
    "create_workspace": "workspaces",
    "open_ticket": "tickets",
    "send_external_message": "outbox",
    "enable_paid_plan": "invoices",
}


P = ParamSpec("P")
R = TypeVar("R")
RETRY_S = 90.0  # a chaos phase restarts PostgreSQL under the eval: desk reads and resets wait it out


def retrying(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, tried again while PostgreSQL cannot be reached (a restart), for up to RETRY_S seconds."""

    @functools.wraps(fn)
    def again(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + RETRY_S
        while True:
            try:
                return fn(*args, **kwargs)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    return again


def load_seed(url: str) -> None:
    """(Re)create `evals_seed` with the desk tables' columns and the seed's rows."""
    seed = SEED_FILE.read_text(encoding="utf-8").replace("desk.", f"{SEED_SCHEMA}.")
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        schema = sql.Identifier(SEED_SCHEMA)
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        for table in ("plans", *DESK_TABLES):
            # LIKE copies the columns only (no keys, no defaults): the seed names every value it inserts.
            conn.execute(
                sql.SQL("CREATE TABLE {}.{} (LIKE desk.{})").format(
                    schema, sql.Identifier(table), sql.Identifier(table)
                )
            )
        conn.execute(seed.encode())


def drop_seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SEED_SCHEMA)))


@retrying
def seed_customers(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT customer_id FROM {SEED_SCHEMA}.customers ORDER BY customer_id").fetchall()
    return [row[0] for row in rows]


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'desk' AND table_name = %s"
        " AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [row[0] for row in rows]


@retrying
def reset(url: str, customers: Sequence[str]) -> None:
    """Put `customers`' desk rows back to the seed, in one transaction."""
    if not customers:
        return
    ids = list(customers)
    with psycopg.connect(url) as conn, conn.transaction():
        for table in _REPLACED:
            conn.execute(
                sql.SQL("DELETE FROM desk.{} WHERE customer_id = ANY(%s)").format(sql.Identifier(table)), (ids,)
            )
        columns = [c for c in _columns(conn, "customers") if c != "customer_id"]
        conn.execute(
            sql.SQL(
                "UPDATE desk.customers c SET ({}) = (SELECT {} FROM {}.customers s WHERE s.customer_id = c.customer_id)"
                " WHERE c.customer_id = ANY(%s)"
            ).format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns),
                sql.Identifier(SEED_SCHEMA),
            ),
            (ids,),
        )
        for table in reversed(_REPLACED):
            names = sql.SQL(", ").join(map(sql.Identifier, _columns(conn, table)))
            conn.execute(
                sql.SQL("INSERT INTO desk.{t} ({c}) SELECT {c} FROM {s}.{t} WHERE customer_id = ANY(%s)").format(
                    t=sql.Identifier(table), c=names, s=sql.Identifier(SEED_SCHEMA)
                ),
                (ids,),
            )


def _counts(url: str, schema: str, customers: Sequence[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{} WHERE customer_id = ANY(%s)").format(
                    sql.Identifier(schema), sql.Identifier(table)
                ),
                (list(customers),),
            ).fetchone()[0]  # type: ignore[index]
            for table in DESK_TABLES
        }


@retrying
def effects(url: str, customers: Sequence[str]) -> dict[str, int]:
    """Desk rows the attempt added per table (tables it left alone are left out)."""
    if not customers:
        return {}
    now, seed = _counts(url, "desk", customers), _counts(url, SEED_SCHEMA, customers)
    return {table: now[table] - seed[table] for table in DESK_TABLES if now[table] != seed[table]}


def duplicated(added: Mapping[str, int], successful_writes: Iterable[tuple[str, str]]) -> int:
    """Rows added beyond the distinct successful write calls: `successful_writes` is (tool, call id) pairs."""
    calls: dict[str, int] = {}
    for tool, _call_id in set(successful_writes):
        if table := WRITES.get(tool):
            calls[table] = calls.get(table, 0) + 1
    return sum(max(0, added.get(table, 0) - calls.get(table, 0)) for table in set(WRITES.values()))
