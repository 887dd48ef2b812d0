"""Identities for the approval tests: API keys (the shipped `server.auth.api_keys` authenticator) and a user's
`auth.py` that adds, as LangGraph's custom-auth docs write it, one handler keeping each team to its own threads.

- alice (desk): asks, cannot decide;  bob, carol (desk): may decide;  eve (other team): may decide, other threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from server.auth.api_keys import hash_key
from tests.pg import scratch_database
from tests.process import KeelProcess

KEYS = {name: f"keel_test-{name}-key" for name in ("alice", "bob", "carol", "eve")}
PERMISSIONS = {
    "alice": ["team:desk"],
    "bob": ["team:desk", "approvals:decide"],
    "carol": ["team:desk", "approvals:decide"],
    "eve": ["team:other", "approvals:decide"],
}
TEAM = {name: perms[0].removeprefix("team:") for name, perms in PERMISSIONS.items()}

AUTH_PY = """
from langgraph_sdk import Auth

from server.auth import api_keys

auth = api_keys.auth  # keel's API keys authenticate; this handler authorizes


@auth.on
async def own_team_only(ctx: Auth.types.AuthContext, value: dict):
    team = next((p.removeprefix("team:") for p in ctx.permissions if p.startswith("team:")), "none")
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        value["metadata"].setdefault("team", team)
    return {"team": team}
"""


def api_keys_env() -> dict[str, str]:
    users = {
        hash_key(KEYS[name]): {"identity": name, "permissions": PERMISSIONS[name], "display_name": name.title()}
        for name in KEYS
    }
    return {"KEEL_API_KEYS": json.dumps(users)}


def write_auth_config(folder: Path, graphs: dict[str, str]) -> Path:
    (folder / "auth.py").write_text(AUTH_PY)
    path = folder / "langgraph.json"
    path.write_text(json.dumps({"graphs": graphs, "auth": {"path": "./auth.py:auth"}}))
    return path


@contextmanager
def desk_behind_api_keys(
    folder: Path, pg_admin_url: str, template: str, env: dict[str, str] | None = None
) -> Iterator[KeelProcess]:
    """`keel serve` of the support graph with this module's auth.py and keys, on a scratch database cloned from
    `template`; `env` adds settings (e.g. CORS)."""
    config = write_auth_config(folder, {"support": "graphs.support:build"})
    with scratch_database(pg_admin_url, template=template) as url:
        served = KeelProcess(
            ["serve"],
            env={
                "DATABASE_URL": url,
                "KEEL_CONFIG": str(config),
                "KEEL_RUN_POLL": "0.5",
                **api_keys_env(),
                **(env or {}),
            },
            cwd=folder,
            log=folder / "keel.log",
        )
        try:
            served.wait_ready()
            yield served
        finally:
            served.stop()


def headers(name: str) -> dict[str, str]:
    return {"x-api-key": KEYS[name]}


APPROVAL_TOOLS = ["issue_refund", "send_external_message", "enable_paid_plan"]


def effects(url: str) -> dict[str, Any]:
    """Everything an approval_required tool changes on the desk."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM desk.tool_effects WHERE tool = ANY(%s)) AS ledger,
                      (SELECT count(*) FROM desk.refunds) AS refunds,
                      (SELECT count(*) FROM desk.outbox) AS outbox""",
            (APPROVAL_TOOLS,),
        ).fetchone()
    assert row is not None
    return dict(zip(("ledger", "refunds", "outbox"), row, strict=True))


def audit_rows(url: str, thread_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute("SELECT * FROM keel.approvals WHERE thread_id = %s ORDER BY approval_id", (thread_id,))
        names = [column.name for column in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
