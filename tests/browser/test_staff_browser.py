"""County staff in a real browser: log in, create and publish a course with two days, see a
participant enroll, mark attendance, export the list; axe-core on every staff page."""

import io
from datetime import timedelta

import openpyxl
import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from core.db import session_scope
from core.i18n import to_local
from enrollment.models import (
    Attendance,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
)
from refunds.cli import load_rate_schemes
from tests.browser.conftest import assert_no_axe_violations
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET


def log_in(page: Page, base: str, email: str, locale: str = "en") -> None:
    """The password, then the code an authenticator app would show (the account's secret is
    the suite's ``STAFF_TOTP_SECRET``)."""
    page.goto(f"{base}/lang/{locale}?next=/staff/login")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/staff/login/code")
    page.fill("#code", pyotp.TOTP(STAFF_TOTP_SECRET).now())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/staff/")


def local_input(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def test_staff_create_publish_attendance_and_export(app, live_server, page, make_staff, now):
    make_staff(email="kari@sfvl.no", county="vestland")
    log_in(page, live_server, "kari@sfvl.no")

    page.goto(f"{live_server}/staff/courses/new")
    page.select_option("#kind", label="Course in public health work")
    page.locator("#cohort").select_option(index=2)
    page.fill("#title_en", "Public health in Bergen")
    page.fill("#title_nn", "Offentleg helsearbeid i Bergen")
    page.fill("#venue", "Scandic Ørnen, Bergen")
    page.fill("#capacity", "12")
    page.fill("#enroll_opens_at", local_input(now - timedelta(days=1)))
    page.fill("#enroll_closes_at", local_input(now + timedelta(days=20)))
    page.check("#refund_eligible")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()

    with session_scope(app.extensions["kp_engine"]) as session:
        offering = session.scalar(sa.select(CourseOffering))
        assert offering.title_en == "Public health in Bergen"
        assert offering.status == OfferingStatus.DRAFT
        offering_id = offering.id

    first = (now + timedelta(days=30)).date()
    for day in (first, first + timedelta(days=1)):
        page.goto(f"{live_server}/staff/courses/{offering_id}/sessions/new")
        page.fill("#day", day.isoformat())
        page.fill("#starts", "09:00")
        page.fill("#ends", "15:30")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").last.click()
    page.goto(f"{live_server}/staff/courses/{offering_id}/edit")
    with page.expect_navigation():
        page.get_by_role("button", name="Publish").click()

    with session_scope(app.extensions["kp_engine"]) as session:
        offering = session.get(CourseOffering, offering_id)
        assert offering.status == OfferingStatus.PUBLISHED
        assert [to_local(s.starts_at).hour for s in offering.sessions] == [9, 9]

    # A LIS1 doctor enrolls in a browser of her own.
    visitor = page.context.browser.new_context(locale="nb-NO")
    other = visitor.new_page()
    other.goto(f"{live_server}/courses/{offering_id}/enroll")
    other.fill("#full_name", "Ŋŧž Šđč Čuđđá")
    other.fill("#email", "nils@example.no")
    other.fill("#phone", "412 34 567")
    other.select_option("#role", "lis1")
    other.fill("#hpr_number", "1234567")
    other.fill("#employer", "Os kommune")
    other.locator("#start_month").select_option(index=3)
    other.check("#consent")
    with other.expect_navigation():
        other.locator("main form button[type=submit]").last.click()
    assert "/enrolled" in other.url
    visitor.close()

    page.goto(f"{live_server}/staff/courses/{offering_id}/participants")
    assert "Ŋŧž Šđč Čuđđá" in page.content()

    with session_scope(app.extensions["kp_engine"]) as session:
        day_one = session.scalar(sa.select(CourseSession).order_by(CourseSession.starts_at))
        enrollment = session.scalar(sa.select(Enrollment))
        assert enrollment.status == EnrollmentStatus.CONFIRMED
        session_id, enrollment_id = day_one.id, enrollment.id
    # The course day is a month ahead: its attendance page has no form yet and says when.
    page.goto(f"{live_server}/staff/sessions/{session_id}/attendance")
    assert page.locator(f"#mark-{enrollment_id}-present").count() == 0
    assert "Attendance can be recorded from" in page.locator("main").inner_text()
    # Time passes: the day has begun (moved into the past, as if the month had gone by).
    with session_scope(app.extensions["kp_engine"]) as session:
        day = session.get(CourseSession, session_id)
        day.starts_at, day.ends_at = now - timedelta(hours=2), now + timedelta(hours=4)
    page.goto(f"{live_server}/staff/sessions/{session_id}/attendance")
    assert page.locator(f"#mark-{enrollment_id}-not_recorded").is_checked()
    page.get_by_role("radio", name="Present").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save attendance").click()
    assert page.locator(f"#mark-{enrollment_id}-present").is_checked()
    with session_scope(app.extensions["kp_engine"]) as session:
        mark = session.get(Attendance, (enrollment_id, session_id))
        assert mark is not None
        assert mark.present

    page.goto(f"{live_server}/staff/courses/{offering_id}/participants")
    with page.expect_download() as download:
        page.locator("a[href$='participants.xlsx']").click()
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    rows = [[c for c in row] for row in workbook.active.iter_rows(values_only=True)]
    assert any("Ŋŧž Šđč Čuđđá" in row for row in rows[1:])
    assert len(rows) == 2


@pytest.mark.parametrize("locale", ["nn", "en"])
@pytest.mark.one_database
def test_rates_page_reflows_at_320_px(app, live_server, page, make_staff, locale):
    """The rates tables turn into one block per rate on a narrow screen: nothing to scroll
    sideways, and each value still says which column it is."""
    with session_scope(app.extensions["kp_engine"]) as session:
        load_rate_schemes(session)
    make_staff(email="kari@sfvl.no", county="vestland")
    log_in(page, live_server, "kari@sfvl.no", locale)
    page.set_viewport_size({"width": 320, "height": 640})

    page.goto(f"{live_server}/staff/refunds/rates")

    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    tag = "Må stadfestast av Statsforvaltaren" if locale == "nn" \
        else "To be confirmed by the office"
    assert page.locator("table.rates .badge-tbc").first.inner_text() == tag
    label = page.evaluate("""getComputedStyle(
        document.querySelector('table.rates td[data-label]'), '::before').content""")
    assert label.strip('"') == ("Gjeld frå: " if locale == "nn" else "Valid from: ")
    assert_no_axe_violations(page)
