"""The tools keel's graphs can call, read-only: what a client needs to render a proposed call as a form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.errors import NotFound
from server.routes.resources import ToolInfo, ok
from tools import TOOLS

router = APIRouter(tags=["tools"])


@router.get("/tools/{name}", responses=ok(ToolInfo))
async def get_tool(name: str) -> Any:
    """A tool's description, risk level and the JSON schema of its arguments (the one an edit is validated
    against), for rendering an approval's proposed call as a form."""
    spec = TOOLS.get(name)
    if spec is None:
        raise NotFound(f"no tool {name!r}")
    return {
        "name": spec.name,
        "description": spec.description,
        "risk": spec.risk.value,
        "args_schema": spec.args.model_json_schema(),
    }
