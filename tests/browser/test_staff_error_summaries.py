"""Failed submits on staff forms, in a real browser: the sign-in, the offering editor, the
attendance page (a radio group per person) and a claim's decision with its adjustments. After
each, the focus is on the error summary, the title starts with "Feil:"/"Error:", every error is
a link to a control that exists, and every control marked invalid is described by its message;
axe and the Nu HTML Checker find nothing on those pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from core.db import session_scope
from enrollment.models import CourseSession, Enrollment
from tests.browser.checks import axe_violations, describe_violations, nu_errors
from tests.browser.test_staff_browser import log_in
from tests.conftest import STAFF_PASSWORD
from tests.refunds_factories import load_rates, make_enrollment, submitted_claim

pytestmark = pytest.mark.one_database


def summary_problems(page: Page, prefix: str) -> list[str]:
    """What is wrong with the page's error summary and invalid controls (none: [])."""
    problems = []
    if page.evaluate("document.activeElement && document.activeElement.id") != "error-summary":
        problems.append("the focus is not on the error summary")
    if not page.title().startswith(prefix):
        problems.append(f"title {page.title()!r} does not start with {prefix!r}")
    links = page.locator("#error-summary a").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.textContent.trim()])")
    if not links:
        problems.append("the summary lists no error as a link")
    for href, text in links:
        if not text or page.locator(f"[id='{href[1:]}']").count() != 1:
            problems.append(f"summary link {href} ({text!r}) leads to no control")
    summary = page.locator("#error-summary").inner_text()
    problems += [f"{message!r} is not in the summary" for message in page.locator(
        "main .ds-validation-message p").all_inner_texts() if message not in summary]
    described = page.locator("[aria-invalid=true]").evaluate_all("""controls => controls.map(c => [
        c.id, (c.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
          .map(id => document.getElementById(id))
          .filter(el => el && el.matches('.ds-validation-message') && el.textContent.trim())
          .length])""")
    if not described:
        problems.append("no control is marked aria-invalid")
    problems += [f"#{id_} is not described by its message" for id_, n in described if not n]
    problems += describe_violations(page.url, axe_violations(page))
    return problems


def test_failed_staff_submits_focus_a_summary_that_links_every_error(
        app, live_server, page, make_staff, make_offering):
    make_staff(email="kari@sfvl.no", county="vestland")
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering, email="ase@example.no",
                                    name="Åse Ødegård")
    claim_id = submitted_claim(app, enrollment_id)
    problems: list[str] = []
    documents: dict[str, str] = {}

    # The sign-in, in Nynorsk: a wrong password.
    page.goto(f"{live_server}/lang/nn?next=/staff/login")
    page.fill("#email", "kari@sfvl.no")
    page.fill("#password", STAFF_PASSWORD + "x")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    problems += [f"sign-in: {p}" for p in summary_problems(page, "Feil:")]
    documents["sign-in"] = page.content()

    log_in(page, live_server, "kari@sfvl.no", "en")

    # The offering editor sent empty.
    page.goto(f"{live_server}/staff/courses/new")
    page.fill("#capacity", "0")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    assert page.locator("#error-summary a").count() >= 1
    problems += [f"offering editor: {p}" for p in summary_problems(page, "Error:")]
    documents["offering editor"] = page.content()

    # Attendance: a person's radio group sent with a value that is not a mark.
    with session_scope(app.extensions["kp_engine"]) as session:
        session_id = session.scalar(sa.select(CourseSession.id).join(
            Enrollment, Enrollment.offering_id == CourseSession.offering_id).where(
            Enrollment.id == enrollment_id).order_by(CourseSession.starts_at).limit(1))
    page.goto(f"{live_server}/staff/sessions/{session_id}/attendance")
    page.locator(f"#mark-{enrollment_id}-present").evaluate("radio => radio.value = 'maybe'")
    page.check(f"#mark-{enrollment_id}-present")
    with page.expect_navigation():
        page.get_by_role("button", name="Save attendance").click()
    assert "Åse Ødegård: choose present, absent or not recorded." in page.locator(
        "#error-summary").inner_text()
    assert page.locator(f"#mark-{enrollment_id}-absent[aria-invalid=true]").count() == 1
    problems += [f"attendance: {p}" for p in summary_problems(page, "Error:")]
    documents["attendance"] = page.content()

    # A claim approved without saying whether own car was approved, with a wrong adjustment.
    page.goto(f"{live_server}/staff/refunds/claims/{claim_id}")
    page.locator("input[id$='-amount']").first.fill("lots")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve", exact=True).click()
    assert page.locator("#error-summary a[href='#own_car_approved-0']").count() == 1
    problems += [f"claim decision: {p}" for p in summary_problems(page, "Error:")]
    documents["claim decision"] = page.content()

    problems += nu_errors(documents)
    assert not problems, "\n".join(problems)
