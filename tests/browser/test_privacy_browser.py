"""A participant downloads their data and asks for erasure from the manage page; staff see the
request and confirm it. axe-core on the privacy notice, the participant's erasure page and the
staff pages."""

import json

import pytest
import sqlalchemy as sa

from core.db import session_scope
from enrollment.models import ErasureRequest, ErasureStatus, Participant
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in
from tests.test_privacy import mailed_privacy_link, seed

BJORN = "bjorn@example.no"


@pytest.mark.parametrize("locale", ["nn", "en"])
@pytest.mark.one_database
def test_download_erasure_request_and_confirmation_pass_axe(app, live_server, page,
                                                            make_offering, make_staff, locale):
    seeded = seed(app, make_offering, make_staff)

    page.goto(f"{live_server}/lang/{locale}?next=/privacy?county=vestland")
    assert_no_axe_violations(page)

    # The copy of one's data: asked for on the manage page, delivered by a link mailed to the
    # address (issue 14: the whole person, only to who holds the address).
    page.goto(f"{live_server}/manage/{seeded.bjorn_token}")
    page.locator(f"a[href$='/manage/{seeded.bjorn_token}/my-data']").first.click()
    page.wait_for_url(f"**/manage/{seeded.bjorn_token}/my-data")
    assert_no_axe_violations(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith(f"/manage/{seeded.bjorn_token}")
    page.goto(live_server + mailed_privacy_link(app, BJORN))
    assert_no_axe_violations(page)
    with page.expect_download() as info:
        page.locator("main form button[type=submit]").click()
    document = json.loads(open(info.value.path(), encoding="utf-8").read())  # noqa: SIM115
    assert document["tables"]["participants"][0]["full_name"] == "Bjørn Bakke"

    page.goto(f"{live_server}/manage/{seeded.bjorn_token}")
    page.locator(f"a[href$='/manage/{seeded.bjorn_token}/erasure']").click()
    page.wait_for_url(f"**/manage/{seeded.bjorn_token}/erasure")
    assert_no_axe_violations(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith(f"/manage/{seeded.bjorn_token}")
    assert_no_axe_violations(page)
    page.goto(live_server + mailed_privacy_link(app, BJORN))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert_no_axe_violations(page)

    log_in(page, live_server, "kari@sfvl.no", locale)
    page.goto(f"{live_server}/staff/privacy/erasure-requests")
    assert "Bjørn Bakke" in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    page.locator("main table a").first.click()
    page.wait_for_url(f"**/staff/privacy/participants/{seeded.bjorn}/erasure")
    assert_no_axe_violations(page)
    with page.expect_navigation():
        page.locator("main form[action$='/erasure'] button[type=submit]").click()
    assert page.url.endswith("/staff/privacy/erasure-requests")
    assert_no_axe_violations(page)

    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.get(Participant, seeded.bjorn).full_name == ""
        assert session.scalar(sa.select(ErasureRequest.status)) == ErasureStatus.CONFIRMED
