"""`/docs` and `/redoc` work on a host without internet access: the pages name no URL outside keel, and every
asset they load is served by keel (from the pinned fastapi-offline package). In-process: no database needed."""

from __future__ import annotations

import re

import httpx
import pytest

from server.app import create_app
from server.settings import Settings

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


def keel() -> httpx.AsyncClient:
    app = create_app(Settings(), "postgresql://unused@127.0.0.1:1/none")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:8000")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_page_loads_only_what_keel_serves(page: str):
    async with keel() as http:
        html = (await http.get(page)).raise_for_status().text
        assert "://" not in html.replace("http://www.w3.org/", ""), "the page names an outside URL"
        references = {a or b for a, b in _REFERENCE.findall(html)}
        assert "/openapi.json" in references
        assets = references - {"/openapi.json"}
        assert assets and all(ref.startswith("/docs/assets/") for ref in assets), references
        for ref in assets:
            response = await http.get(ref)
            assert response.status_code == 200, ref
            assert len(response.content) > 1000, ref
        assert (await http.get("/openapi.json")).json()["paths"]["/docs"]["get"]["operationId"] == "docs"
        assert (await http.get("/docs/assets/__init__.py")).status_code == 422  # nothing else of the package
