"""Messages to participants in a real browser: staff write, check and send one; the write,
check and course pages and the recipient's manage page pass axe-core in nn, nb and en."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from core.db import session_scope
from enrollment.models import Role
from enrollment.services.enrollments import PersonDetails, enroll
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in

BODY = "Ta med <b>legitimasjon</b>.\nOppmøte kl. 08.30."


def checked(page: Page, base: str, locale: str, path: str) -> None:
    """Open ``path`` in ``locale``; it must be in that language and pass axe."""
    page.goto(f"{base}/lang/{locale}?next={path}")
    assert page.locator("html").get_attribute("lang") == locale
    assert_no_axe_violations(page)


@pytest.mark.one_database
def test_staff_send_a_message_and_every_page_of_it_passes_axe(
        app, live_server, page, make_staff, make_offering, now):
    make_staff(email="kari@sfvl.no", county="vestland")
    offering = make_offering(capacity=1)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        tokens = [enroll(session, offering.id, PersonDetails(
            full_name=f"Deltakar {i}", email=f"p{i}@example.no", phone="41234567",
            role=Role.LIS1, hpr_number=f"765432{i}", employer="Bergen kommune", locale="nn",
        ), now + timedelta(seconds=i)).token for i in range(2)]
    write = f"/staff/courses/{offering.id}/messages/new"
    log_in(page, live_server, "kari@sfvl.no", "nn")

    page.goto(f"{live_server}/staff/courses/{offering.id}/participants")
    with page.expect_navigation():
        page.get_by_role("link", name="Skriv til deltakarane").click()
    with page.expect_navigation():  # nothing written: the errors at their fields
        page.get_by_role("button", name="Sjå over meldinga").click()
    assert page.locator("#subject-error").inner_text() == "Skriv eit emne."
    assert_no_axe_violations(page)
    page.get_by_label("Stadfesta deltakarar (1)").check()
    page.fill("#subject", "Praktisk om kurset")
    page.fill("#body", BODY)
    with page.expect_navigation():
        page.get_by_role("button", name="Sjå over meldinga").click()
    assert page.locator("h1").inner_text() == "Sende til 1 deltakar?"
    assert_no_axe_violations(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Send til 1 deltakar").click()
    assert page.url.endswith(f"/staff/courses/{offering.id}/edit#messages")
    assert "Meldinga er sendt til 1 deltakar." in page.locator("main").inner_text()
    assert_no_axe_violations(page)

    for locale in ("nb", "en"):
        checked(page, live_server, locale, write)
        page.fill("#subject", "Igjen")
        page.fill("#body", "Tekst")
        with page.expect_navigation():
            page.locator("main form button[value=preview]").click()
        assert_no_axe_violations(page)  # the check, not sent (the course page is axed above)

    # The confirmed participant's manage page, in a browser of her own.
    visitor = page.context.browser.new_context(locale="nn-NO")
    own = visitor.new_page()
    for locale in ("nn", "nb", "en"):
        checked(own, live_server, locale, f"/manage/{tokens[0]}")
    assert own.locator("#messages").inner_text() == "Messages from the county governor"
    shown = own.locator("section.ds-alert p.pre-line")
    assert shown.inner_text() == BODY  # as written: the tags as text, the line break kept
    visitor.close()
