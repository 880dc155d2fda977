"""Claims follow attendance: a claim is submitted only after a session attended, each leg and
cost is dated inside the journey window (the day before the first attended session to the day
after the last, per office), and the caseworker sees the attended days and the lines dated on
other days.

Through the web in Nynorsk, Bokmål and English, on SQLite and PostgreSQL; each test asserts
what the person sees and what the database holds.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, ngettext

from core.db import session_scope
from core.i18n import format_short_day, to_local
from core.mail import OutboxMessage
from enrollment.models import Attendance
from refunds.errors import LinesRefused, NoAttendance, OutsideJourney
from refunds.models import Claim, ClaimLine, ClaimStatus, RateScheme
from refunds.services.claims import submit_claim, update_draft
from tests.refunds_factories import (
    IN_WINDOW,
    attend,
    car_leg,
    draft_claim,
    engine_of,
    load_rates,
    make_enrollment,
    toll,
)
from tests.test_refunds_web import (
    PDF,
    car,
    claim_data,
    claim_row,
    client_in,
    count,
    enroll_person,
    in_locale,
    page,
    staff_client,
    start_claim,
    upload,
)
from tests.test_refunds_web import toll as toll_row

# The page's behaviour; the claim rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = ClaimStatus
LOCALES = ["nn", "nb", "en"]
JOURNEY_MESSAGE = ("Choose a date from %(first)s to %(last)s, the days of your journey to the "
                   "course.")
HINT = ("Date each leg and cost from %(first)s to %(last)s, the days of your journey to the "
        "course.")
NO_ATTENDANCE = ("The claim can be submitted once the county governor has recorded that you "
                 "attended the course. You can save the draft until then.")


@pytest.fixture
def course(app, make_offering, make_staff, now):
    """Rates, a two-day course in Vestland that began three days ago (its days ``day1`` and
    ``day2``, Oslo dates) and a caseworker of Vestland."""
    load_rates(app)
    first_day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(first_day=first_day, title_en="Public health in Bergen")
    make_staff("kari@sfvl.no", county="vestland")

    class Course:
        offering_id = offering.id
        day1 = to_local(first_day + timedelta(hours=8)).date()
        day2 = day1 + timedelta(days=1)

    return Course


def iso(day: date) -> str:
    return day.isoformat()


def journey_text(app, locale: str, first: date, last: date) -> str:
    return in_locale(app, locale, JOURNEY_MESSAGE, first=format_short_day(first, locale),
                     last=format_short_day(last, locale))


def field_error(body: str, field_id: str) -> str:
    """The text of the error list shown next to the field ``field_id``."""
    found = re.search(rf'<div class="ds-validation-message field-errors" data-field="validation"'
                      rf' id="{field_id}-error">(.*?)</div>', body, re.DOTALL)
    assert found, f"no error next to {field_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def mails_to(app, address: str) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage)
                                    .where(OutboxMessage.to_address == address)))


# --- the journey window --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_a_leg_outside_the_journey_window_is_refused_at_the_field(app, course, locale):
    _enrollment_id, token = enroll_person(app, course.offering_id, locale=locale)
    client = client_in(app, locale)
    claim_id = start_claim(client, token)
    url = f"/manage/{token}/claims/{claim_id}"
    # Attended both days: the journey may run from the day before the first to the day after.
    first, last = course.day1 - timedelta(days=1), course.day2 + timedelta(days=1)
    expected = journey_text(app, locale, first, last)
    assert in_locale(app, locale, HINT, first=format_short_day(first, locale),
                     last=format_short_day(last, locale)) in page(client.get(url))

    too_early = [car(iso(first - timedelta(days=1)))]
    too_late = [toll_row(iso(last + timedelta(days=1)))]
    for button in ("save", "check", "send"):
        response = client.post(url, data=claim_data(too_early, too_late, **{button: "y"}))
        assert response.status_code == 400, (button, page(response))
        body = page(response)
        assert field_error(body, "legs-0-travel_date") == expected
        assert field_error(body, "costs-0-travel_date") == expected
        claim = claim_row(app, claim_id)
        assert (claim.status, claim.lines, claim.bank_account) == (S.DRAFT, [], "")

    # The first and last days of the window are accepted, though neither is a course day.
    inside = client.post(url, data=claim_data([car(iso(first))], [toll_row(iso(last))],
                                              save="y"))
    assert inside.status_code == 302, page(inside)
    assert [line.travel_date for line in claim_row(app, claim_id).lines] == [first, last]
    assert mails_to(app, "lege@example.no") == []


def test_the_window_follows_the_days_attended_and_the_office_setting(app, course):
    enrollment_id, token = enroll_person(app, course.offering_id, locale="en", attended=False)
    attend(app, enrollment_id, days=[course.day1])
    attend(app, enrollment_id, present=False, days=[course.day2])
    client = client_in(app, "en")
    claim_id = start_claim(client, token)
    url = f"/manage/{token}/claims/{claim_id}"
    # Absent on the second day: the journey ends the day after the first.
    day3 = course.day2 + timedelta(days=1)
    refused = client.post(url, data=claim_data([car(iso(day3))], save="y"))
    assert refused.status_code == 400
    assert field_error(page(refused), "legs-0-travel_date") == journey_text(
        app, "en", course.day1 - timedelta(days=1), course.day2)
    assert claim_row(app, claim_id).lines == []

    # The office allows two days before and none after.
    with session_scope(engine_of(app)) as session:
        scheme = session.scalar(sa.select(RateScheme).join(Claim, Claim.scheme_id == RateScheme.id)
                                .where(Claim.id == claim_id))
        scheme.journey_days_before, scheme.journey_days_after = 2, 0
    two_before = course.day1 - timedelta(days=2)
    saved = client.post(url, data=claim_data([car(iso(two_before))], save="y"))
    assert saved.status_code == 302, page(saved)
    refused = client.post(url, data=claim_data([car(iso(course.day2))], save="y"))
    assert field_error(page(refused), "legs-0-travel_date") == journey_text(
        app, "en", two_before, course.day1)
    assert [line.travel_date for line in claim_row(app, claim_id).lines] == [two_before]


def test_before_any_attendance_the_draft_follows_the_course_days(app, make_offering, now):
    load_rates(app)
    future = (now + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    enrollment_id = make_enrollment(app, make_offering, first_day=future, days=3)
    first_day = to_local(future + timedelta(hours=8)).date()
    claim_id = draft_claim(app, enrollment_id, now=now, lines=[
        car_leg(day=first_day - timedelta(days=1)), car_leg(day=first_day + timedelta(days=3))])
    assert claim_row(app, claim_id).total_ore == 2 * 100 * 530
    with session_scope(engine_of(app)) as session, pytest.raises(LinesRefused) as exc:
        update_draft(session, claim_id, lines=[car_leg(day=first_day + timedelta(
            days=4))], bank_account="", comment="", now=now)
    [error] = exc.value.errors
    assert isinstance(error, OutsideJourney)
    assert (error.index, error.first, error.last) == (
        0, first_day - timedelta(days=1), first_day + timedelta(days=3))


def test_submitting_refuses_a_line_the_attendance_no_longer_covers(app, make_offering):
    """A draft dated by the course days, then attendance on the first day only."""
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering, attended=False)  # 5 and 6 January 2026
    claim_id = draft_claim(app, enrollment_id, lines=[
        car_leg(day=date(2026, 1, 5)), toll(day=date(2026, 1, 7))])
    attend(app, enrollment_id, days=[date(2026, 1, 5)])
    attend(app, enrollment_id, present=False, days=[date(2026, 1, 6)])
    with session_scope(engine_of(app)) as session, pytest.raises(LinesRefused) as exc:
        submit_claim(session, claim_id, now=IN_WINDOW)
    assert [(e.index, e.code) for e in exc.value.errors] == [(1, "outside_journey")]
    assert claim_row(app, claim_id).status == S.DRAFT


# --- no claim before a session is attended -------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_a_claim_without_attendance_cannot_be_submitted(app, course, locale):
    enrollment_id, token = enroll_person(app, course.offering_id, locale=locale, attended=False)
    client = client_in(app, locale)
    claim_id = start_claim(client, token)  # a draft can be kept
    url = f"/manage/{token}/claims/{claim_id}"
    saved = client.post(url, data=claim_data([car(iso(course.day1))], save="y"))
    assert saved.status_code == 302
    message = in_locale(app, locale, NO_ATTENDANCE)
    form = page(client.get(url))
    assert message in form
    assert 'name="send"' not in form

    before = claim_row(app, claim_id)
    for marks in ([], [False]):  # nothing recorded; then marked absent
        if marks:
            attend(app, enrollment_id, present=False, days=[course.day1, course.day2])
        refused = client.post(url, data=claim_data([car(iso(course.day1), km="999")],
                                                   send="y"))
        assert refused.status_code == 403
        assert message in page(refused)
        after = claim_row(app, claim_id)
        assert (after.status, after.submitted_at) == (S.DRAFT, None)
        assert [(line.km, line.amount_ore) for line in after.lines] == [
            (line.km, line.amount_ore) for line in before.lines]
        assert mails_to(app, "lege@example.no") == []

    attend(app, enrollment_id, days=[course.day1])  # staff record the first day
    form = page(client.get(url))
    assert message not in form
    assert 'name="send"' in form
    sent = client.post(url, data=claim_data([car(iso(course.day1))], send="y"))
    assert sent.status_code == 302, page(sent)
    assert claim_row(app, claim_id).status == S.SUBMITTED


def test_the_service_refuses_to_submit_without_attendance(app, make_offering):
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering, attended=False)
    claim_id = draft_claim(app, enrollment_id)
    with session_scope(engine_of(app)) as session, pytest.raises(NoAttendance):
        submit_claim(session, claim_id, now=IN_WINDOW)
    assert claim_row(app, claim_id).status == S.DRAFT


# --- what the caseworker sees ---------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_the_caseworker_sees_the_attended_days_and_flags_lines_on_other_days(app, course,
                                                                             locale):
    enrollment_id, token = enroll_person(app, course.offering_id, attended=False)
    attend(app, enrollment_id, days=[course.day1])
    attend(app, enrollment_id, present=False, days=[course.day2])
    participant = client_in(app, "nn")
    claim_id = start_claim(participant, token)
    url = f"/manage/{token}/claims/{claim_id}"
    eve = course.day1 - timedelta(days=1)
    legs = [car(iso(eve)), car(iso(course.day1))]
    assert participant.post(url, data=claim_data(legs, [toll_row(iso(course.day2))],
                                                 save="y")).status_code == 302
    toll_line = claim_row(app, claim_id).lines[2].id
    assert upload(participant, token, claim_id, [(PDF, "bom.pdf")], toll_line).status_code == 302
    receipt = str(claim_row(app, claim_id).receipts[0].id)
    sent = participant.post(url, data=claim_data(
        legs, [toll_row(iso(course.day2), receipt=receipt)], send="y"))
    assert sent.status_code == 302, page(sent)

    staff = staff_client(app)
    staff.get(f"/lang/{locale}")
    detail = page(staff.get(f"/staff/refunds/claims/{claim_id}"))
    days = re.search(r'<table [^>]*id="course-days">(.*?)</table>', detail,
                     re.DOTALL).group(1)
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", days, re.DOTALL)[1:]]
    assert rows == [
        f"{format_short_day(course.day1, locale)} {in_locale(app, locale, 'Present')}",
        f"{format_short_day(course.day2, locale)} {in_locale(app, locale, 'Absent')}",
    ]
    flag = in_locale(app, locale, "Flag: not a day the participant attended")
    lines = re.findall(r'<th scope="row">(\d)\. (.*?)</th>', detail, re.DOTALL)
    flagged = {number for number, text in lines if flag in text}
    assert flagged == {"1", "3"}  # the evening before, and the day absent; not the day attended
    assert in_locale(app, locale, "Flag: outside the journey dates") not in detail

    queue = page(staff.get("/staff/refunds/"))
    with app.test_request_context(), force_locale(locale):
        badge = ngettext("%(num)d line on a day not attended",
                         "%(num)d lines on days not attended", 2)
    assert badge in queue
    with session_scope(engine_of(app)) as session:
        marks = session.execute(sa.select(Attendance.present)
                                .where(Attendance.enrollment_id == enrollment_id)
                                .order_by(Attendance.session_id)).scalars().all()
        assert marks == [True, False]
        assert session.scalar(sa.select(Claim.status).where(Claim.id == claim_id)) == S.SUBMITTED
        assert session.scalar(sa.select(sa.func.count()).select_from(ClaimLine)) == 3
    assert count(app, Claim) == 1
