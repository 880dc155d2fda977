"""Every page, in each language, passes the three checks of tests/browser/checks.py: axe-core
at WCAG 2.2 AA with 0 violations, the Nu HTML Checker with 0 errors, and no sideways scrolling
in a 320 px window.

"Every page" is found, not listed: starting from the home page, a participant's manage page
and, signed in as an administrator (who sees every staff page), the staff home, the test
follows every link of the site it has not seen the shape of (the path with its numbers and
tokens taken out; query strings aside), and fails if it finds fewer pages than the site has
kinds of page, so a broken crawl cannot pass by checking nothing. The data: the demo data set
(every county's courses, a course that has happened with attendance, certificates and a
roster) plus a participant with a submitted travel claim.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Page

from core.db import session_scope, utcnow
from enrollment.demo import seed_demo
from enrollment.models import ManageLink
from enrollment.services import links
from tests.browser.checks import (
    WIDE,
    axe_violations,
    describe_violations,
    load_axe_in_every_page,
    nu_errors,
    overflow_at_320,
)
from tests.browser.test_staff_browser import log_in
from tests.refunds_factories import load_rates, make_enrollment, submitted_claim

# Every page once, on the production database: its queries meet PostgreSQL here, while the
# page tests run on SQLite (tests/conftest.py).
pytestmark = pytest.mark.on_postgresql

# Not pages: downloads, the language switch, static files, and what signs out.
SKIP = re.compile(r"^/(static|lang)/|/logout|\.(csv|xlsx|pdf|ics|png|svg|xml|json)$|/export")
# The shape of a path: numbers and tokens taken out, so /staff/courses/3 and /5 are one page.
TOKEN = re.compile(r"/[A-Za-z0-9_-]{20,}(?=/|$)")
NUMBER = re.compile(r"/\d+(?=/|$)")
# Fewer pages than this means the crawl broke (about 45 public and staff pages exist).
AT_LEAST = 40
MOST = 90


FIXED_LANGUAGE = re.compile(r"^/accessibility/(nn|nb|en)$")
# The page for an address that leads nowhere (404), checked like any other.
MISSING = "/finst-ikkje"


def shape(path: str) -> str:
    return NUMBER.sub("/N", TOKEN.sub("/T", path))


@pytest.fixture
def world(app, make_offering, make_staff, now):
    """The demo data, an administrator, and a participant with a submitted claim; returns the
    participant's manage-link token."""
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        seed_demo(session, now)
    load_rates(app)
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    make_staff(email="kari@sfvl.no", county="vestland")
    enrollment_id = make_enrollment(app, make_offering, email="ase@example.no",
                                    name="Åse Ødegård")
    submitted_claim(app, enrollment_id)
    token, digest = links.new_token()
    with session_scope(app.extensions["kp_engine"]) as session:
        session.add(ManageLink(enrollment_id=enrollment_id, token_hash=digest,
                               created_at=utcnow() - timedelta(minutes=1)))
    return token


def crawl(page: Page, base: str, starts: list[str], seen: dict[str, str],
          documents: dict[str, str], problems: list[str], staff: bool, locale: str) -> None:
    """Visit every page reachable from ``starts`` whose shape is new, the staff pages' or the
    public ones' (the sign-in page counts as public); check each with axe and at 320 px, and
    keep its HTML for the Nu checker. Each is also in the language chosen and has one h1."""
    queue = list(starts)
    while queue and len(seen) < MOST:
        url = queue.pop(0)
        path = urlsplit(url).path
        key = shape(path)
        inside = path.startswith("/staff/") and not path.startswith("/staff/login")
        if key in seen or SKIP.search(path) or inside != staff:
            continue
        seen[key] = url
        response = page.goto(urljoin(base, url))
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if response.status >= 400 and url != MISSING:
            problems.append(f"{url}: answered {response.status}")
            continue
        documents[url] = response.text()
        # The accessibility statement has an address of its own in each language.
        fixed = FIXED_LANGUAGE.search(path)
        wanted = fixed.group(1) if fixed else locale
        if page.locator("html").get_attribute("lang") != wanted:
            problems.append(f"{url}: not in the language chosen ({wanted})")
        if page.locator("h1").count() != 1:
            problems.append(f"{url}: {page.locator('h1').count()} level-one headings, not one")
        problems.extend(describe_violations(url, axe_violations(page)))
        wider = overflow_at_320(page)
        if wider:
            problems.append(f"{url}: {wider} px wider than a 320 px window")
        for href in page.eval_on_selector_all(
                "a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(page.url, href))
            if target.netloc == urlsplit(base).netloc and target.path not in queue:
                queue.append(target.path + (f"?{target.query}" if target.query else ""))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
def test_every_page_passes_axe_the_nu_checker_and_reflows_at_320px(
        app, live_server, browser, world, locale, record_property):
    context = browser.new_context(locale="nn-NO", viewport=WIDE)
    load_axe_in_every_page(context)
    context.set_default_timeout(15_000)
    page = context.new_page()
    seen: dict[str, str] = {}
    documents: dict[str, str] = {}
    problems: list[str] = []
    try:
        page.goto(f"{live_server}/lang/{locale}?next=/")
        starts = ["/", f"/manage/{world}", "/verify", "/staff/login", MISSING]
        crawl(page, live_server, starts, seen, documents, problems, staff=False, locale=locale)
        log_in(page, live_server, "admin@sf.no", locale)
        public = len(seen)
        crawl(page, live_server, ["/staff/"], seen, documents, problems, staff=True,
              locale=locale)
    finally:
        context.close()
    axe_and_reflow = len(problems)
    nu = nu_errors(documents)
    problems.extend(nu)
    record_property("pages", f"{locale}: {len(documents)} pages ({public} public), "
                             f"{axe_and_reflow} axe/reflow problems, {len(nu)} Nu errors")
    assert not problems, "\n".join([f"{len(problems)} problem(s) on {len(documents)} pages:",
                                    *problems])
    assert len(documents) >= AT_LEAST, sorted(seen)
    assert public >= 10, sorted(seen)
    assert len(seen) - public >= 25, sorted(seen)
