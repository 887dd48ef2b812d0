"""The browser tests of keel's pages (/ui): one keel server with API-key identities (tests/server/runs/approvers.py)
and one Chromium for the whole package, a fresh browser context (fresh sessionStorage) per test.

Chromium comes from the OS packages (Debian's `chromium`; Playwright cannot download browsers here). Without one
the tests skip locally, and fail under CI=true: a CI run must not pass by leaving the browser out.
Screenshots of each step go to the test's tmp dir (`--basetemp`/<test name>/NN-step.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.process import KeelProcess
from tests.server.runs.approvers import desk_behind_api_keys
from tests.waiting import scaled

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def candidates() -> list[str]:
    """Where the OS's Chromium may be (KEEL_TEST_CHROMIUM names another)."""
    named = os.environ.get("KEEL_TEST_CHROMIUM")
    return [named] if named else [*CHROMIUM_PATHS, *filter(None, [shutil.which("chromium")])]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    tried = candidates()
    path = next((path for path in tried if os.access(path, os.X_OK)), None)
    if path is None:
        why = f"no Chromium found (tried {', '.join(tried)}); install the OS package `chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def keel(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, migrated_template_db: str
) -> Iterator[KeelProcess]:
    """keel serving the support graph behind API keys (alice asks, bob decides)."""
    folder = tmp_path_factory.mktemp("ui")
    with desk_behind_api_keys(folder, pg_admin_url, migrated_template_db) as served:
        yield served


class Steps:
    """Numbered screenshots of a test's steps, in its tmp dir."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(scaled(60) * 1000)  # a busy 2-core machine runs the graph slowly
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def steps(page: Page, tmp_path: Path) -> Steps:
    return Steps(page, tmp_path)
