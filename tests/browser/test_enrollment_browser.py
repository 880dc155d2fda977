"""A LIS1 doctor enrolls with the keyboard only, opens the link from the e-mail and cancels;
the form, the result page and the manage page pass axe-core in all three languages."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from core.db import session_scope
from core.mail import send_pending
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.services.links import issue_link
from tests.browser.conftest import assert_no_axe_violations
from tests.smtp import smtp_server  # noqa: F401


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    """The real thing: CSRF on, mail through the test SMTP server."""
    app_config.update(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
        MAIL_FROM="kurs@statsforvaltaren.test",
    )
    return app_config


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has focus (proves keyboard reach)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")


def fill_by_keyboard(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def test_enroll_with_keyboard_then_open_link_from_mail_and_cancel(
    app, live_server, page, make_offering, smtp_server  # noqa: F811
):
    offering = make_offering(title_nn="Akuttkurs i Bergen", capacity=5)
    page.goto(f"{live_server}/courses/{offering.id}")
    tab_to(page, "a.ds-button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/enroll$"))

    fill_by_keyboard(page, "#full_name", "Åse Ødegård")
    fill_by_keyboard(page, "#email", "ase@example.no")
    fill_by_keyboard(page, "#phone", "412 34 567")
    tab_to(page, "#role")
    page.keyboard.press("ArrowDown")  # the first role: LIS1 doctor
    fill_by_keyboard(page, "#hpr_number", "1234567")
    fill_by_keyboard(page, "#employer", "Bergen kommune")
    tab_to(page, "#start_month")
    for _ in range(3):  # —, a year before, half a year before, the offering's own cohort
        page.keyboard.press("ArrowDown")
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/enrolled$"))
    # The same page for a new and an existing enrollment (issue 13): the seat is in the mail.
    assert page.locator("h1").inner_text() == "Påmeldinga er motteken"

    report = send_pending(app.extensions["kp_engine"], app.config)
    assert report.sent == 1
    (mail,) = smtp_server.messages
    assert mail["To"] == "ase@example.no"
    assert mail["Content-Language"] == "nn"
    body = mail.get_body(("plain",)).get_content()
    assert "Påmeldinga di er stadfesta" in body
    link = re.search(r"http://127\.0\.0\.1:\d+/manage/\S+", body).group(0)

    page.goto(link)
    assert page.locator("h1").inner_text() == "Påmeldinga di"
    assert "Åse Ødegård" in page.content()
    # Cancelling asks first, on a page of its own that says what will happen.
    tab_to(page, 'a[href$="/cancel"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Vil du melde deg av?"
    assert "Dette kan ikkje angrast." in page.content()
    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.scalar(sa.select(Enrollment.status)) == EnrollmentStatus.CONFIRMED
    tab_to(page, "button[data-color=danger]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Du er meldt av." in page.content()

    with session_scope(app.extensions["kp_engine"]) as session:
        enrollment = session.scalar(sa.select(Enrollment))
        assert enrollment.status == EnrollmentStatus.CANCELLED
        assert enrollment.offering.seats_taken == 0


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
@pytest.mark.one_database
def test_enrollment_pages_pass_axe(app, live_server, page, make_offering, locale):
    offering = make_offering(capacity=1)
    page.goto(f"{live_server}/lang/{locale}?next=/courses/{offering.id}/enroll")
    assert page.locator("html").get_attribute("lang") == locale
    assert_no_axe_violations(page)

    # Submitting empty shows the errors next to the fields: that page must pass too.
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()
    assert page.locator(".field-errors").count() >= 5
    assert_no_axe_violations(page)

    page.fill("#full_name", "Máret Čuđđá")
    page.fill("#email", f"maret.{locale}@example.no")
    page.fill("#phone", "+47 412 34 567")
    page.select_option("#role", "lis1")
    page.fill("#hpr_number", "7654321")
    page.fill("#employer", "Kautokeino kommune")
    page.locator("#start_month").select_option(index=3)
    page.check("#consent")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/enrolled$"))
    assert_no_axe_violations(page)

    with session_scope(app.extensions["kp_engine"]) as session:
        enrollment = session.scalar(sa.select(Enrollment))
        token = issue_link(session, enrollment)
    page.goto(f"{live_server}/manage/{token}")
    assert "Máret Čuđđá" in page.content()
    assert_no_axe_violations(page)

    # The two questions asked before acting: cancelling, and withdrawing the other link.
    page.goto(f"{live_server}/manage/{token}/cancel")
    assert page.locator("form button[data-color=danger]").count() == 1
    assert_no_axe_violations(page)
    page.goto(f"{live_server}/manage/{token}/links")
    assert page.locator("form button[data-color=danger]").count() == 1
    assert_no_axe_violations(page)
