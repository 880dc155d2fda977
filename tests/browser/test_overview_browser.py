"""The administrators' national overview in a real browser: axe-core finds nothing in nn, nb
and en, and at 320 px the page does not scroll sideways (the table scrolls in its own region)."""

from playwright.sync_api import Page

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in
from tests.test_overview import build


def test_overview_accessible_in_three_languages_and_at_320_px(
        app, live_server, page: Page, make_staff, make_offering, now):
    build(app, make_offering, now)
    make_staff(email="admin@kursportal.no", admin=True)
    log_in(page, live_server, "admin@kursportal.no", locale="nn")
    for locale, heading in (("nn", "Nasjonal oversikt"), ("nb", "Nasjonal oversikt"),
                            ("en", "National overview")):
        page.goto(f"{live_server}/lang/{locale}")
        page.goto(f"{live_server}/staff/overview?cohort=2026-03")
        assert page.locator("h1").inner_text() == heading
        assert page.locator("html").get_attribute("lang") == locale
        assert_no_axe_violations(page)
    assert page.locator(".bars .bar-value").first.inner_text() == "11%"
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
