"""The accessibility statement passes axe-core in Nynorsk, Bokmål and English, at desktop width
and on a 320 px screen, where it and the footer's list of offices fit without scrolling
sideways."""

import pytest

from tests.browser.conftest import assert_no_axe_violations


@pytest.mark.one_database
def test_statement_passes_axe_and_reflows_at_320_px(app, live_server, page):
    page.set_viewport_size({"width": 1280, "height": 800})
    for code in ("nn", "nb", "en"):
        page.goto(f"{live_server}/accessibility/{code}")
        assert page.locator("html").get_attribute("lang") == code
        assert page.locator("footer a[href='/accessibility']").count() == 1
        assert_no_axe_violations(page)

    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/accessibility/nn", "/accessibility/nb", "/accessibility/en", "/"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    assert page.locator("footer li a[href^='mailto:']").count() == 10
    assert_no_axe_violations(page)
