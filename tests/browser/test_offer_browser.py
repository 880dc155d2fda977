"""A person offered a freed seat answers on their manage page: the offer, and after accepting
it the confirmed page with the digital course's meeting link, pass axe-core in nn, nb and en
(one browser, one database)."""

import pytest
import sqlalchemy as sa

from core.db import session_scope
from enrollment.models import Enrollment, EnrollmentStatus, Role
from enrollment.services import enrollments
from enrollment.services.enrollments import PersonDetails
from tests.browser.conftest import assert_no_axe_violations

MEETING = "https://meet.example.no/kurs-7"


@pytest.fixture
def app_config(app_config):
    app_config.update(WTF_CSRF_ENABLED=True)
    return app_config


@pytest.mark.one_database
def test_seat_offer_and_meeting_link_pass_axe(app, live_server, page, make_offering, now):
    offering_id = make_offering(capacity=1, offer_hours=48, meeting_url=MEETING).id
    tokens = {}
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        for n, locale in enumerate(("seat", "nn", "nb", "en")):
            details = PersonDetails(full_name=f"Kari {locale}", email=f"{locale}@example.no",
                                    phone="+47 412 34 567", role=Role.LIS1,
                                    hpr_number=str(5_000_000 + n), employer="Voss kommune",
                                    locale="nn")
            tokens[locale] = enrollments.enroll(session, offering_id, details, now).token
    for locale in ("nn", "nb", "en"):
        with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
            holder = session.scalar(sa.select(Enrollment).where(
                Enrollment.offering_id == offering_id,
                Enrollment.status == EnrollmentStatus.CONFIRMED))
            enrollments.cancel(session, holder, now)  # the seat is offered to the next
        page.goto(f"{live_server}/lang/{locale}?next=/manage/{tokens[locale]}")
        assert page.locator("html").get_attribute("lang") == locale
        assert page.locator("#offer form").count() == 2
        assert MEETING not in page.content()
        assert_no_axe_violations(page)

        page.locator("#offer form button").first.click()
        page.wait_for_selector("#meeting")
        assert page.locator(f'a[href="{MEETING}"]').count() == 1
        assert_no_axe_violations(page)
