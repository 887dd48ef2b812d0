"""keel's own pages: the approval inbox at `/ui` and a chat page per graph at `/ui/chat/{graph}`.

Plain HTML, CSS and JavaScript packaged in `server/ui/` (no build step, nothing from a CDN: they work on an
air-gapped host). The pages are static and served without authentication; every API call they make carries the
credentials the person signs in with. A strict Content-Security-Policy keeps the pages to keel's own scripts and
API, and `frame-ancestors 'none'` keeps another site from framing the approve button.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.errors import NotFound

FILES = Path(__file__).resolve().parent.parent / "ui"
# The files /ui/assets/ serves, by name: nothing else in the folder (or outside it) can be asked for.
ASSETS = {
    "keel.js": "text/javascript",
    "inbox.js": "text/javascript",
    "chat.js": "text/javascript",
    "schema_form.js": "text/javascript",
    "keel.css": "text/css",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # a new keel's pages and scripts are picked up at once, together
}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(FILES / name, media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/ui")
async def inbox() -> FileResponse:
    return _page("inbox.html")


@router.get("/ui/chat/{graph_id}")
async def chat(graph_id: str) -> FileResponse:  # noqa: ARG001 (the page reads the graph from its own address)
    return _page("chat.html")


@router.get("/ui/assets/{name}")
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name!r}")
    return FileResponse(FILES / name, media_type=f"{media_type}; charset=utf-8", headers=HEADERS)
