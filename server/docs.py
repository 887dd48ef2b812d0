"""The browsable API documentation, `GET /docs` (Swagger UI) and `GET /redoc`, from assets packaged with keel.

FastAPI's own pages load Swagger UI and Redoc from a CDN, so on an air-gapped host they stay blank. keel serves
the copies of swagger-ui-dist and Redoc that the `fastapi-offline` package ships (pinned in uv.lock) under
`/docs/assets/`, and its pages name nothing outside keel. Like `/openapi.json`, they are open without credentials.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Path, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

DOCS_PATH = "/docs"
_REDOC_PATH = "/redoc"
_OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
_ASSETS_PATH = "/docs/assets"
_ASSETS = files("fastapi_offline") / "static"
Asset = Literal["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"]
_NAMES: tuple[str, ...] = get_args(Asset)
# Open to all: the pages and their assets describe the API, as `/openapi.json` does.
DOCS_PATHS = frozenset({DOCS_PATH, _REDOC_PATH, _OAUTH2_REDIRECT_PATH, *(f"{_ASSETS_PATH}/{name}" for name in _NAMES)})

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """Where keel is mounted (a proxy's `root_path`), as FastAPI's own pages prefix their URLs."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{_ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_ASSETS_PATH}/favicon.png",
        oauth2_redirect_url=f"{root}{_OAUTH2_REDIRECT_PATH}",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )


@router.get(_OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(_REDOC_PATH)
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{_ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{_ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )


@router.get(f"{_ASSETS_PATH}/{{name}}")
async def asset(name: Annotated[Asset, Path()]) -> FileResponse:
    # A fixed list of names: nothing else in the package is reachable. They change only with the package.
    return FileResponse(str(_ASSETS / name), headers={"Cache-Control": "public, max-age=86400"})
