"""Inviting roster people in a real browser: the roster page with its checkboxes, the
invitation page with who is invited and who skipped, and the form an invitation link fills in;
axe-core on each in Nynorsk, Bokmål and English."""

import pytest

from core.db import session_scope
from enrollment.invitation_tokens import make_token
from enrollment.models import RosterEntry
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in
from tests.test_invitations import PEOPLE, enroll, make_roster


@pytest.mark.one_database
def test_roster_invitation_pages_pass_axe_and_invite(app, live_server, page, make_staff,
                                                     make_offering, now):
    make_staff(email="kari@sfvl.no", county="vestland")
    offering = make_offering()
    roster_id, (kari, ola, siri) = make_roster(app, offering.cohort, PEOPLE)
    enroll(app, offering.id, "Ola N.", "ola@example.no", "2345678", now)
    with app.test_request_context(), session_scope(app.extensions["kp_engine"]) as session:
        token = make_token(session.get(RosterEntry, kari), offering.id)
    log_in(page, live_server, "kari@sfvl.no")
    roster = f"/staff/rosters/{roster_id}"
    for locale in ("nn", "nb", "en"):
        page.goto(f"{live_server}/lang/{locale}?next={roster}")
        assert page.locator("html").get_attribute("lang") == locale
        assert_no_axe_violations(page)
        page.check(f"#pick-{kari}")
        page.check(f"#pick-{ola}")
        with page.expect_navigation():
            page.locator("form[action$='/invite'] button:not([name])").click()  # the chosen
        page.select_option("#offering", str(offering.id))
        with page.expect_navigation():
            page.locator("form[method=get] button[type=submit]").click()
        assert page.locator("[role=status]").last.inner_text().startswith(
            {"nn": "Vert inviterte: 1.", "nb": "Blir invitert: 1.", "en": "Will be invited: 1."}
            [locale])
        assert_no_axe_violations(page)
        page.goto(f"{live_server}/courses/{offering.id}/enroll?invitation={token}")
        assert page.input_value("#full_name") == "Kari Nordmann"
        assert_no_axe_violations(page)
    page.goto(f"{live_server}/staff/rosters/{roster_id}/invite?entry={kari}&entry={ola}"
              f"&offering={offering.id}")
    with page.expect_navigation():
        page.locator("form[method=post][action$='/invite'] button").click()
    assert "Invitations sent: 1. Skipped: 1." in page.inner_text("main")
