"""Fixtures for the browser tests: the app served over HTTP, Debian's Chromium through
Playwright, and an axe-core check.

Every test here is marked ``browser``. They take the ``app`` fixture, so they run on SQLite and
on PostgreSQL like the rest of the suite. Playwright's own browser downloads are never used: a
missing Chromium skips locally and fails under CI=true.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from tests.browser.checks import axe_violations, load_axe_in_every_page
from tests.conftest import require

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py's hook chooses the databases
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser with ``browser``, and as a page test
    (``one_database``: SQLite): what a browser sees is the page; every page meets PostgreSQL in
    test_every_page.py, which names its databases (``both_databases``)."""
    # This hook sees the whole session's items, not only this folder's.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.one_database)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served on a free local port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, launched once per test run."""
    executable = shutil.which("chromium")
    if executable is None:
        require("Chromium is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page per test, so no cookie leaks between tests."""
    # A Nynorsk browser, like most visitors; the language tests switch away from it.
    context = browser.new_context(accept_downloads=True, locale="nn-NO")
    load_axe_in_every_page(context)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


def format_violations(violations: list[dict]) -> str:
    """Axe's violations as lines a person can act on: rule, impact, help and each element."""
    lines = [f"{len(violations)} axe-core violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'n/a'}): {violation['help']}"
            f" <{violation.get('helpUrl', '')}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {node.get('html', '')}")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page) -> None:
    """Run axe-core on the page as it is now, at WCAG 2.2 AA with axe's best practices (the
    rule set of tests/browser/checks.py), and fail with a readable list of violations."""
    violations = axe_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{format_violations(violations)}", pytrace=False)
