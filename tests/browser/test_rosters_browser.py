"""County staff on the cohort roster pages in a real browser: upload a file with good and bad
lines, check its preview, confirm it, then the list, the upload form, the preview, the
roster's completion table and the enrollment to match by hand, with axe-core in nn, nb and en."""

import pytest
from playwright.sync_api import Page

from core.db import session_scope
from enrollment.services import enrollments
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in
from tests.test_rosters import BAD, GOOD, csv_file, person


@pytest.mark.one_database
def test_roster_pages_pass_axe_in_every_language(app, live_server, page: Page, make_staff,
                                                 make_offering, now, tmp_path):
    make_staff(email="kari@sfvl.no", county="vestland")
    log_in(page, live_server, "kari@sfvl.no")
    upload = tmp_path / "kull.csv"
    upload.write_bytes(csv_file(GOOD + BAD))
    page.goto(f"{live_server}/staff/rosters/upload")
    page.select_option("#cohort", "2026-03")
    page.set_input_files("#file", str(upload))
    with page.expect_navigation():
        page.locator("form[enctype] button[type=submit]").click()
    preview = page.url.removeprefix(live_server)
    assert page.locator("tr.has-error").count() == len(BAD)
    with page.expect_navigation():
        page.locator("form[action$='/confirm'] button").click()
    roster = page.url.removeprefix(live_server)
    assert page.locator("tbody tr").count() == len(GOOD)

    offering = make_offering(kind="emergency_medicine")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        # Ola's HPR number with Kari's address: staff decide whose it is.
        enrollments.enroll(session, offering.id,
                           person(2, "Ola N.", "kari@example.no", "2345678"), now)
    for locale in ("nn", "nb", "en"):
        for path in ("/staff/rosters", "/staff/rosters/upload", preview, roster,
                     f"{roster}/matches"):
            page.goto(f"{live_server}/lang/{locale}?next={path}")
            assert page.locator("html").get_attribute("lang") == locale
            assert_no_axe_violations(page)
    assert page.locator("main select").count() == 1
