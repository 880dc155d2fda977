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

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from certificates.models import Certificate
from core.api import tokens
from core.auth import StaffUser, make_reset_token
from core.db import session_scope, utcnow
from core.models import County
from enrollment.demo import seed_demo
from enrollment.models import Enrollment, ManageLink, PrivacyLink, PrivacyPurpose, Roster
from enrollment.services import email_change, links
from tests.browser.checks import (
    WIDE,
    axe_violations,
    describe_violations,
    load_axe_in_every_page,
    nu_errors,
    overflow_at_320,
)
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.refunds_factories import load_rates, make_enrollment, submitted_claim

# Each language on the database it names (tests/conftest.py: both_databases keeps the pairs):
# the Nynorsk crawl on PostgreSQL, the production database, so every page's queries meet it
# (the page tests run on SQLite); Bokmål and English, whose queries are the same, on SQLite.
pytestmark = pytest.mark.both_databases
LANGUAGES = [("nn", "postgresql"), ("nb", "sqlite"), ("en", "sqlite")]

# Not pages: downloads, the language switch, static files, and what signs out.
SKIP = re.compile(r"^/(static|lang)/|/logout|\.(csv|xlsx|pdf|ics|png|svg|xml|json)$|/export")
# The shape of a path: numbers and tokens taken out, so /staff/courses/3 and /5 are one page.
TOKEN = re.compile(r"/[A-Za-z0-9_-]{20,}(?=/|$)")
NUMBER = re.compile(r"/\d+(?=/|$)")
# Fewer pages than this means the crawl broke (about 60 public and staff pages exist).
AT_LEAST = 55
MOST = 90


FIXED_LANGUAGE = re.compile(r"^/accessibility/(nn|nb|en)$")
# The page for an address that leads nowhere (404), checked like any other.
MISSING = "/finst-ikkje"


def shape(path: str) -> str:
    return NUMBER.sub("/N", TOKEN.sub("/T", path))


@pytest.fixture
def world(app, make_offering, make_staff, now):
    """The demo data, an administrator, a staff member still to set up sign-in, and a
    participant with a submitted claim; returns the addresses the crawl starts from that no
    link leads to: pages opened from a mail (a manage link, an e-mail change, a personal-data
    link, a password reset), and pages of one person or certificate that links reach only for
    some of them (the crawl visits one of each kind)."""
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        seed_demo(session, now)
    load_rates(app)
    admin_id = make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    make_staff(email="kari@sfvl.no", county="vestland")
    make_staff(email="ny@sfvl.no", county="vestland", two_factor=False)
    enrollment_id = make_enrollment(app, make_offering, email="ase@example.no",
                                    name="Åse Ødegård")
    submitted_claim(app, enrollment_id)
    open_course = make_offering(title_nn="Ope kurs", title_nb="Åpent kurs", title_en="Open")
    token, digest = links.new_token()
    private, private_digest = links.new_token()
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        session.add(ManageLink(enrollment_id=enrollment_id, token_hash=digest,
                               created_at=utcnow() - timedelta(minutes=1)))
        enrollment = session.get(Enrollment, enrollment_id)
        change = email_change.request_change(session, enrollment, "ase.ny@example.no", now,
                                             timedelta(days=1))
        session.add(PrivacyLink(participant_id=enrollment.participant_id,
                                enrollment_id=enrollment_id, purpose=PrivacyPurpose.EXPORT,
                                email="ase@example.no", token_hash=private_digest,
                                created_at=now, expires_at=now + timedelta(days=1)))
        certificate = session.scalar(sa.select(Certificate).order_by(Certificate.id))
        roster_id = session.scalar(sa.select(Roster.id).order_by(Roster.id))
        reset = make_reset_token(session.get(StaffUser, admin_id))
        # The administrator's API tokens page then lists one (with its revoke button).
        vestland = session.scalar(sa.select(County.id).where(County.slug == "vestland"))
        tokens.create(session, session.get(StaffUser, admin_id), county_id=vestland,
                      name="Økonomisystem", can_write=False,
                      expires_on=(now + timedelta(days=30)).date(), now=now)
    person = f"/staff/enrollments/{certificate.enrollment_id}"
    return {
        "public": ["/", f"/manage/{token}", f"/manage/{token}/claims/new",
                   f"/courses/{open_course.id}/enroll", f"/email-change/{change.confirm_token}",
                   f"/personal-data/{private}", "/verify", f"/verify/{certificate.code}",
                   "/staff/login", "/staff/password/forgot", f"/staff/password/reset/{reset}",
                   MISSING],
        "staff": ["/staff/", f"{person}/cancel", f"{person}/move", f"{person}/reject",
                  f"{person}/certificate/issue", f"/staff/certificates/{certificate.id}/revoke",
                  f"/staff/privacy/participants/{enrollment.participant_id}/erasure",
                  f"/staff/rosters/{roster_id}/invite", "/staff/participants/search?q=Åse"],
    }


def check_sign_in(page: Page, base: str, email: str, documents: dict[str, str],
                  problems: list[str], locale: str) -> None:
    """Sign in as ``email`` through both steps, checking the second step's page (the code, or
    the setting up of an authenticator app for an account without one) on the way."""
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    path = urlsplit(page.url).path
    assert path in ("/staff/login/code", "/staff/login/setup"), page.url
    documents[path] = page.content()
    check_page(page, path, problems, locale)
    if path == "/staff/login/code":
        page.fill("#code", pyotp.TOTP(STAFF_TOTP_SECRET).now())
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()


def check_page(page: Page, url: str, problems: list[str], locale: str) -> None:
    """The page as it is now: its language, one level-one heading, axe, and 320 px."""
    # The accessibility statement has an address of its own in each language.
    fixed = FIXED_LANGUAGE.search(urlsplit(url).path)
    wanted = fixed.group(1) if fixed else locale
    if page.locator("html").get_attribute("lang") != wanted:
        problems.append(f"{url}: not in the language chosen ({wanted})")
    if page.locator("h1").count() != 1:
        problems.append(f"{url}: {page.locator('h1').count()} level-one headings, not one")
    problems.extend(describe_violations(url, axe_violations(page)))
    wider = overflow_at_320(page)
    if wider:
        problems.append(f"{url}: {wider} px wider than a 320 px window")


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
        other_language = FIXED_LANGUAGE.search(path) and not path.endswith(f"/{locale}")
        if key in seen or SKIP.search(path) or inside != staff or other_language:
            continue
        seen[key] = url
        response = page.goto(urljoin(base, url))
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if response.status >= 400 and url != MISSING:
            problems.append(f"{url}: answered {response.status}")
            continue
        documents[url] = response.text()
        check_page(page, url, problems, locale)
        for href in page.eval_on_selector_all(
                "a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(page.url, href))
            if target.netloc == urlsplit(base).netloc and target.path not in queue:
                queue.append(target.path + (f"?{target.query}" if target.query else ""))


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("locale", "database_url"), LANGUAGES, indirect=["database_url"])
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
        crawl(page, live_server, world["public"], seen, documents, problems, staff=False,
              locale=locale)
        public = len(seen)
        check_sign_in(page, live_server, "ny@sfvl.no", documents, problems, locale)
        page.context.clear_cookies()
        page.goto(f"{live_server}/lang/{locale}?next=/staff/login")
        check_sign_in(page, live_server, "admin@sf.no", documents, problems, locale)
        crawl(page, live_server, world["staff"], seen, documents, problems, staff=True,
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
    assert len(seen) - public >= 35, sorted(seen)
