"""keel's pages over plain HTTP: served without credentials, with a strict Content-Security-Policy and no files
but their own; the tool schema the inbox renders forms from is an authenticated API call."""

from __future__ import annotations

import httpx
import pytest

from tests.process import KeelProcess
from tests.server.runs.approvers import headers

pytestmark = pytest.mark.slow


def test_the_pages_are_static_files_open_to_all_and_the_api_calls_are_authenticated(keel: KeelProcess):
    with httpx.Client(base_url=keel.base_url) as http:
        for path in ("/ui", "/ui/chat/support", "/ui/assets/inbox.js", "/ui/assets/keel.css"):
            page = http.get(path)
            assert page.status_code == 200, path
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert http.get("/ui").headers["content-type"].startswith("text/html")
        assert http.get("/ui/assets/inbox.js").headers["content-type"].startswith("text/javascript")
        assert "cdn" not in http.get("/ui").text.lower() and "https://" not in http.get("/ui").text  # air-gapped
        for missing in ("/ui/assets/inbox.html", "/ui/assets/..%2Fui.py", "/ui/assets/nothing.js"):
            assert http.get(missing).status_code == 404, missing

        assert http.get("/approvals").status_code == 401
        assert http.get("/tools/issue_refund").status_code == 401
        tool = http.get("/tools/issue_refund", headers=headers("bob")).json()
        assert tool["risk"] == "approval_required"
        assert tool["args_schema"]["properties"]["amount"]["type"] == "number"
        assert set(tool["args_schema"]["required"]) == {"customer_id", "invoice_id", "amount", "reason"}
        unknown = http.get("/tools/no_such_tool", headers=headers("bob"))
        assert unknown.status_code == 404 and "no_such_tool" in unknown.json()["detail"]
