"""Staff pages for participants: approve, reject, cancel, move, add by hand, search, exports.

Every test runs on SQLite and on PostgreSQL. Each checks what staff see and what the database
holds afterwards: statuses and seats, the e-mail in the outbox, the audit event.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from core.audit import AuditEvent
from core.db import new_session, session_scope
from core.i18n import format_day
from core.mail import OutboxMessage
from enrollment import errors
from enrollment.exports import neutralise
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Participant, Role
from enrollment.services import enrollments, links, participants
from enrollment.services.enrollments import PersonDetails

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = EnrollmentStatus
OTHER_COUNTY = "rogaland"


# --- helpers ------------------------------------------------------------------------------------


def engine_of(app):
    return app.extensions["kp_engine"]


@contextmanager
def reading(app) -> Iterator[sa.orm.Session]:
    """A session that sees what is committed now."""
    session = new_session(engine_of(app), write=False)
    try:
        yield session
    finally:
        session.close()


def person(n: int, **overrides) -> PersonDetails:
    values = dict(
        full_name=f"Deltakar {n}", email=f"deltakar{n}@example.no", phone="+47 400 00 000",
        role=Role.LIS1, hpr_number=str(1_000_000 + n), employer="Bergen kommune", locale="nn",
    )
    values.update(overrides)
    return PersonDetails(**values)


def enroll(app, offering_id: int, n: int, when, **overrides) -> enrollments.EnrollResult:
    """Enroll participant ``n`` as the public form does, and commit."""
    with app.app_context(), session_scope(engine_of(app)) as session:
        return enrollments.enroll(session, offering_id, person(n, **overrides), when)


def status_of(app, enrollment_id: int) -> EnrollmentStatus:
    with reading(app) as session:
        return session.get(Enrollment, enrollment_id).status


def seats_taken(app, offering_id: int) -> int:
    with reading(app) as session:
        return session.get(CourseOffering, offering_id).seats_taken


def outbox(app) -> list[OutboxMessage]:
    with reading(app) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def audit_events(app) -> list[AuditEvent]:
    with reading(app) as session:
        return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def translated(app, locale: str, msgid: str, **values) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **values)


def first_day(app, offering_id: int, locale: str) -> str:
    """How the offering's first day is written in ``locale`` (Babel, not the catalogs)."""
    with reading(app) as session, app.test_request_context():
        return format_day(session.get(CourseOffering, offering_id).sessions[0].starts_at, locale)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def staff(make_staff, login) -> int:
    """Kari, county staff of Vestland, logged in (English pages)."""
    staff_id = make_staff()
    login()
    return staff_id


# --- the list -----------------------------------------------------------------------------------


def test_participants_page_shows_sections_with_waiting_list_in_order(
        app, client, staff, make_offering, now):
    offering = make_offering(capacity=1)
    enroll(app, offering.id, 1, now)
    enroll(app, offering.id, 2, now + timedelta(seconds=1))
    enroll(app, offering.id, 3, now + timedelta(seconds=2))
    with app.app_context(), session_scope(engine_of(app)) as session:
        session.get(CourseOffering, offering.id).requires_approval = True
    enroll(app, offering.id, 4, now + timedelta(seconds=3))
    gone = enroll(app, offering.id, 5, now + timedelta(seconds=4))
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollments.cancel(session, session.get(Enrollment, gone.enrollment.id), now)

    response = client.get(f"/staff/courses/{offering.id}/participants")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page(response)
    sections = [text.index(heading) for heading in (
        "Confirmed (1)", "Pending approval (1)", "Waiting list (2)", "Withdrawn and rejected (1)")]
    assert sections == sorted(sections)
    confirmed, pending, waiting, closed = (
        text[a:b] for a, b in zip(sections, [*sections[1:], len(text)], strict=True))
    assert "Deltakar 1" in confirmed
    assert "Deltakar 4" in pending
    assert waiting.index("Deltakar 2") < waiting.index("Deltakar 3")
    assert "Deltakar 5" in closed


def test_participants_page_query_count_does_not_grow_with_participants(
        app, client, staff, make_offering, now, count_queries):
    small, large = make_offering(capacity=3), make_offering(capacity=30)
    with app.app_context(), session_scope(engine_of(app)) as session:
        for n in range(5):
            enrollments.enroll(session, small.id, person(n), now)
        for n in range(50):
            enrollments.enroll(session, large.id, person(100 + n), now)
    counts = []
    for offering in (small, large):
        with count_queries() as statements:
            response = client.get(f"/staff/courses/{offering.id}/participants")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert "Deltakar 149" in page(response)


# --- approve ------------------------------------------------------------------------------------


def test_approve_gives_a_free_seat_mails_in_participants_language_and_audits(
        app, client, staff, make_offering, now):
    offering = make_offering(capacity=1, requires_approval=True)
    first = enroll(app, offering.id, 1, now, locale="nn").enrollment.id
    second = enroll(app, offering.id, 2, now, locale="nb").enrollment.id
    before_mail = len(outbox(app))

    response = client.post(f"/staff/enrollments/{first}/approve", follow_redirects=True)

    assert response.status_code == 200
    assert "Deltakar 1 is approved and has a seat." in page(response)
    assert status_of(app, first) == S.CONFIRMED
    assert seats_taken(app, offering.id) == 1
    [mail] = outbox(app)[before_mail:]
    assert mail.to_address == "deltakar1@example.no"
    assert mail.locale == "nn"
    assert mail.subject == translated(app, "nn", "Enrollment confirmed: %(title)s",
                                      title="Testkurs")
    assert translated(app, "nn", "Hello %(name)s,", name="Deltakar 1") in mail.body_text
    assert first_day(app, offering.id, "nn") in mail.body_text
    [event] = audit_events(app)
    assert (event.action, event.object_type, event.object_id) == (
        "enrollment.approve", "enrollment", first)
    assert event.actor_id == staff
    assert event.actor_email == "kari@sfvl.no"
    assert event.before["status"] == "pending"
    assert event.after["status"] == "confirmed"

    # The course is now full: the next approval puts the person on the waiting list.
    response = client.post(f"/staff/enrollments/{second}/approve", follow_redirects=True)
    assert "Deltakar 2 is approved and is number 1 on the waiting list." in page(response)
    assert status_of(app, second) == S.WAITLISTED
    assert seats_taken(app, offering.id) == 1
    mail = outbox(app)[-1]
    assert (mail.to_address, mail.locale) == ("deltakar2@example.no", "nb")
    assert mail.subject == translated(app, "nb", "You are on the waiting list: %(title)s",
                                      title="Testkurs")
    assert first_day(app, offering.id, "nb") in mail.body_text
    assert [e.after["status"] for e in audit_events(app)] == ["confirmed", "waitlisted"]


def test_approving_a_confirmed_enrollment_changes_nothing(app, client, staff, make_offering, now):
    offering = make_offering()
    confirmed = enroll(app, offering.id, 1, now).enrollment.id
    mails = len(outbox(app))

    response = client.post(f"/staff/enrollments/{confirmed}/approve", follow_redirects=True)

    assert response.status_code == 200
    assert "cannot be changed that way" in page(response)
    assert status_of(app, confirmed) == S.CONFIRMED
    assert len(outbox(app)) == mails
    assert audit_events(app) == []


# --- reject -------------------------------------------------------------------------------------


def test_rejection_without_reason_is_refused_with_message_at_the_field(
        app, client, staff, make_offering, now):
    offering = make_offering(requires_approval=True)
    pending = enroll(app, offering.id, 1, now).enrollment.id
    mails = len(outbox(app))

    response = client.post(f"/staff/enrollments/{pending}/reject", data={"reason": "   "})

    assert response.status_code == 400
    text = page(response)
    assert 'id="reason-error"' in text
    assert "Write why the enrollment is rejected." in text
    assert status_of(app, pending) == S.PENDING
    assert len(outbox(app)) == mails
    assert audit_events(app) == []


def test_reject_sends_the_reason_to_the_participant_and_audits(
        app, client, staff, make_offering, now):
    offering = make_offering(requires_approval=True)
    pending = enroll(app, offering.id, 1, now, locale="nb").enrollment.id
    assert client.get(f"/staff/enrollments/{pending}/reject").status_code == 200
    mails = len(outbox(app))

    response = client.post(f"/staff/enrollments/{pending}/reject",
                           data={"reason": "Kurset er for LIS1 i Vestland."},
                           follow_redirects=True)

    assert response.status_code == 200
    assert "The enrollment of Deltakar 1 is rejected." in page(response)
    with reading(app) as session:
        enrollment = session.get(Enrollment, pending)
        assert enrollment.status == S.REJECTED
        assert enrollment.status_reason == "Kurset er for LIS1 i Vestland."
    [mail] = outbox(app)[mails:]
    assert (mail.to_address, mail.locale) == ("deltakar1@example.no", "nb")
    assert "Kurset er for LIS1 i Vestland." in mail.body_text
    assert "Kurset er for LIS1 i Vestland." in mail.body_html
    assert first_day(app, offering.id, "nb") in mail.body_text
    [event] = audit_events(app)
    assert event.action == "enrollment.reject"
    assert event.before == {"status": "pending", "offering_id": offering.id, "status_reason": ""}
    assert event.after == {"status": "rejected", "offering_id": offering.id,
                           "status_reason": "Kurset er for LIS1 i Vestland."}


def test_reject_service_requires_a_reason(app, make_offering, now, make_staff):
    offering = make_offering(requires_approval=True)
    pending = enroll(app, offering.id, 1, now).enrollment.id
    with (app.app_context(), session_scope(engine_of(app)) as session,
          pytest.raises(errors.ReasonRequired)):
        participants.reject(session, pending, " ", actor=None)


# --- cancel -------------------------------------------------------------------------------------


def test_staff_cancel_after_the_deadline_promotes_next_and_mails_both(
        app, client, staff, make_offering, now):
    offering = make_offering(capacity=1, cancel_deadline=now - timedelta(days=1))
    seated = enroll(app, offering.id, 1, now, locale="en").enrollment.id
    waiting = enroll(app, offering.id, 2, now + timedelta(seconds=1), locale="nn").enrollment.id
    assert client.get(f"/staff/enrollments/{seated}/cancel").status_code == 200
    mails = len(outbox(app))

    response = client.post(f"/staff/enrollments/{seated}/cancel",
                           data={"reason": "Sick leave, as agreed by phone."},
                           follow_redirects=True)

    assert response.status_code == 200
    text = page(response)
    assert "The enrollment of Deltakar 1 is cancelled." in text
    assert "Deltakar 2 moved up from the waiting list and has a seat." in text
    assert status_of(app, seated) == S.CANCELLED
    assert status_of(app, waiting) == S.CONFIRMED
    assert seats_taken(app, offering.id) == 1
    cancelled_mail, promoted_mail = outbox(app)[mails:]
    assert (cancelled_mail.to_address, cancelled_mail.locale) == ("deltakar1@example.no", "en")
    assert cancelled_mail.subject == "Your enrollment is cancelled: Test course"
    assert "Sick leave, as agreed by phone." in cancelled_mail.body_text
    assert (promoted_mail.to_address, promoted_mail.locale) == ("deltakar2@example.no", "nn")
    assert promoted_mail.subject == translated(app, "nn", "You now have a seat: %(title)s",
                                               title="Testkurs")
    [event] = audit_events(app)
    assert event.action == "enrollment.cancel"
    assert event.object_id == seated
    assert event.before["status"] == "confirmed"
    assert event.after["status"] == "cancelled"
    assert event.after["promoted"] == [waiting]


# --- move ---------------------------------------------------------------------------------------


def test_move_to_same_kind_gives_seat_there_and_promotes_next_here(
        app, client, staff, make_offering, now):
    source = make_offering(capacity=1)
    target = make_offering(capacity=5, title_en="Autumn course", title_nn="Haustkurs")
    mover = enroll(app, source.id, 1, now, locale="en")
    waiting = enroll(app, source.id, 2, now + timedelta(seconds=1)).enrollment.id
    response = client.get(f"/staff/enrollments/{mover.enrollment.id}/move")
    assert response.status_code == 200
    assert "Autumn course" in page(response)
    mails = len(outbox(app))

    response = client.post(f"/staff/enrollments/{mover.enrollment.id}/move",
                           data={"target": str(target.id)}, follow_redirects=True)

    assert response.status_code == 200
    assert "Deltakar 1 is moved to Autumn course." in page(response)
    assert status_of(app, mover.enrollment.id) == S.CANCELLED
    assert status_of(app, waiting) == S.CONFIRMED
    assert (seats_taken(app, source.id), seats_taken(app, target.id)) == (1, 1)
    with reading(app) as session:
        [new] = session.scalars(sa.select(Enrollment).where(Enrollment.offering_id == target.id))
        assert new.status == S.CONFIRMED
        assert new.participant.email == "deltakar1@example.no"
        # The participant's own link now opens the enrollment in the new course.
        assert links.find_by_token(session, mover.token).id == new.id
    moved_mail, promoted_mail = outbox(app)[mails:]
    assert (moved_mail.to_address, moved_mail.locale) == ("deltakar1@example.no", "en")
    assert moved_mail.subject == "Your enrollment has been moved: Autumn course"
    assert "Test course" in moved_mail.body_text
    assert [a["filename"] for a in moved_mail.attachments] == [f"course-{target.id}.ics"]
    assert promoted_mail.to_address == "deltakar2@example.no"
    [event] = audit_events(app)
    assert event.action == "enrollment.move"
    assert event.object_id == mover.enrollment.id
    assert event.before == {"status": "confirmed", "offering_id": source.id, "status_reason": "",
                            "enrollment_id": mover.enrollment.id}
    assert event.after == {"status": "confirmed", "offering_id": target.id, "status_reason": "",
                           "enrollment_id": new.id, "promoted": [waiting]}


def test_move_to_a_full_course_puts_the_person_on_its_waiting_list(
        app, client, staff, make_offering, now):
    source, target = make_offering(), make_offering(capacity=1)
    enroll(app, target.id, 9, now)
    mover = enroll(app, source.id, 1, now, locale="en").enrollment.id

    response = client.post(f"/staff/enrollments/{mover}/move", data={"target": str(target.id)})

    assert response.status_code == 302
    with reading(app) as session:
        new = session.scalar(sa.select(Enrollment).join(Enrollment.participant).where(
            Enrollment.offering_id == target.id, Participant.email == "deltakar1@example.no"))
        assert new.status == S.WAITLISTED
    assert seats_taken(app, source.id) == 0
    assert "You are number 1 on the waiting list." in outbox(app)[-1].body_text


def test_move_to_another_kind_or_county_is_refused(app, client, staff, make_offering, now):
    source = make_offering()
    other_kind = make_offering(kind="emergency_medicine", title_en="Emergency course")
    other_county = make_offering(county=OTHER_COUNTY, title_en="Rogaland course")
    mover = enroll(app, source.id, 1, now).enrollment.id
    text = page(client.get(f"/staff/enrollments/{mover}/move"))
    assert "Emergency course" not in text
    assert "Rogaland course" not in text
    mails = len(outbox(app))

    for target in (other_kind, other_county):
        response = client.post(f"/staff/enrollments/{mover}/move",
                               data={"target": str(target.id)})
        assert response.status_code == 400
        assert "Choose one of the listed courses." in page(response)
        assert 'id="target-error"' in page(response)
    response = client.post(f"/staff/enrollments/{mover}/move", data={"target": "x"})
    assert response.status_code == 400

    assert status_of(app, mover) == S.CONFIRMED
    assert (seats_taken(app, source.id), seats_taken(app, other_kind.id)) == (1, 0)
    assert len(outbox(app)) == mails
    assert audit_events(app) == []
    with (app.app_context(), session_scope(engine_of(app)) as session,
          pytest.raises(errors.NotMovable)):
        participants.move(session, mover, other_kind.id, actor=None, now=now)


# --- add by hand --------------------------------------------------------------------------------


def add_form(**overrides) -> dict[str, str]:
    data = dict(full_name="Per Hand", email="per@example.no", phone="412 34 567", role="lis1",
                hpr_number="7654321", employer="Voss kommune", start_month="", needs="",
                locale="nb")
    data.update(overrides)
    return data


def test_add_by_hand_after_the_deadline_obeys_seats_and_mails_the_link(
        app, client, staff, make_offering, now):
    offering = make_offering(capacity=1, enroll_closes_at=now - timedelta(days=1),
                             requires_approval=True)
    response = client.get(f"/staff/courses/{offering.id}/participants/new")
    assert response.status_code == 200

    response = client.post(f"/staff/courses/{offering.id}/participants/new", data=add_form(),
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Per Hand is added: Confirmed." in page(response)
    response = client.post(f"/staff/courses/{offering.id}/participants/new",
                           data=add_form(full_name="Siri Hand", email="siri@example.no",
                                         hpr_number="7654322", locale="nn"))
    assert response.status_code == 302

    with reading(app) as session:
        rows = session.execute(
            sa.select(Participant.full_name, Enrollment.status)
            .join(Enrollment.participant).where(Enrollment.offering_id == offering.id)
            .order_by(Enrollment.id)).all()
    assert rows == [("Per Hand", S.CONFIRMED), ("Siri Hand", S.WAITLISTED)]
    assert seats_taken(app, offering.id) == 1
    per, siri = outbox(app)
    assert (per.to_address, per.locale) == ("per@example.no", "nb")
    assert per.subject == translated(app, "nb", "Enrollment confirmed: %(title)s",
                                     title="Testkurs")
    assert "/manage/" in per.body_text
    assert (siri.to_address, siri.locale) == ("siri@example.no", "nn")
    assert siri.subject == translated(app, "nn", "You are on the waiting list: %(title)s",
                                      title="Testkurs")
    events = audit_events(app)
    assert [e.action for e in events] == ["enrollment.add", "enrollment.add"]
    assert events[0].before is None
    assert events[0].after["status"] == "confirmed"
    assert events[1].after["status"] == "waitlisted"


def test_add_by_hand_refuses_duplicates_and_bad_input_at_the_field(
        app, client, staff, make_offering, now):
    offering = make_offering()
    enroll(app, offering.id, 1, now)
    url = f"/staff/courses/{offering.id}/participants/new"

    response = client.post(url, data=add_form(email="deltakar1@example.no"))
    assert response.status_code == 400
    assert "already enrolled in this course" in page(response)
    assert 'id="email-error"' in page(response)

    response = client.post(url, data=add_form(role="supervisor", hpr_number=""))
    assert response.status_code == 400
    assert 'id="role-error"' in page(response)

    response = client.post(url, data=add_form(email="not an address", phone="abc"))
    assert response.status_code == 400
    assert 'id="email-error"' in page(response)
    assert 'id="phone-error"' in page(response)

    with reading(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 1
    assert audit_events(app) == []


# --- search -------------------------------------------------------------------------------------


def test_search_finds_by_name_email_and_hpr_only_in_own_county(
        app, client, staff, make_offering, now):
    own = make_offering()
    other = make_offering(county=OTHER_COUNTY)
    enroll(app, own.id, 1, now, full_name="Ingrid Haugland", email="ingrid@bergen.kommune.no",
           hpr_number="4444444")
    enroll(app, other.id, 2, now, full_name="Ingrid Haugland", email="ingrid@stavanger.no",
           hpr_number="4444445")
    enroll(app, own.id, 3, now, full_name="Olav Aas")

    for query in ("haugland", "INGRID@BERGEN", "4444444"):
        response = client.get("/staff/participants/search", query_string={"q": query})
        assert response.status_code == 200
        text = page(response)
        assert "ingrid@bergen.kommune.no" in text, query
        assert "ingrid@stavanger.no" not in text
        assert "Olav Aas" not in text
    text = page(client.get("/staff/participants/search", query_string={"q": "4444445"}))
    assert "Nobody matches your search." in text
    # LIKE wildcards are searched for as themselves.
    text = page(client.get("/staff/participants/search", query_string={"q": "%%"}))
    assert "Nobody matches your search." in text


def test_search_too_short_is_a_field_error_and_empty_shows_the_form(app, client, staff):
    response = client.get("/staff/participants/search", query_string={"q": "a"})
    assert response.status_code == 400
    assert 'id="q-error"' in page(response)
    response = client.get("/staff/participants/search")
    assert response.status_code == 200
    assert "Find participant" in page(response)


def test_search_is_in_the_staff_navigation(app, client, staff):
    text = page(client.get("/staff/participants/search"))
    assert 'href="/staff/participants/search" aria-current="page"' in text


# --- exports ------------------------------------------------------------------------------------

HEADER = ["Name", "E-mail", "Phone", "Role", "HPR number", "Employer", "Status",
          "Waiting list position", "Needs", "Enrolled at (Oslo time)"]


@pytest.fixture
def export_offering(app, make_offering, now):
    """A course of one seat: a formula-named person has it, two wait, one cancelled."""
    offering = make_offering(capacity=1)
    enroll(app, offering.id, 1, now, full_name='=HYPERLINK("http://x","y")', phone="+47 123",
           needs="-vegetarian")
    enroll(app, offering.id, 2, now + timedelta(seconds=1), full_name="@SUM(A1)",
           employer=" =1+1")
    enroll(app, offering.id, 3, now + timedelta(seconds=2), full_name="Åse Ølstad",
           employer="\tTab kommune")
    return offering


def test_xlsx_export_has_header_rows_and_neutralised_cells(app, client, staff, export_offering):
    response = client.get(f"/staff/courses/{export_offering.id}/participants.xlsx")

    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert len(rows) == 4
    first, second, third = rows[1:]
    # Each text exactly as the person wrote it, in a text cell: no apostrophe added.
    assert first[:4] == ('=HYPERLINK("http://x","y")', "deltakar1@example.no", "+47 123",
                         "LIS1 doctor")
    assert first[4:8] == ("1000001", "Bergen kommune", "Confirmed", None)
    assert first[8] == "-vegetarian"
    assert first[9].year >= 2020
    assert (second[0], second[5], second[6], second[7]) == (
        "@SUM(A1)", " =1+1", "Waiting list", 1)
    assert (third[0], third[5], third[7]) == ("Åse Ølstad", "\tTab kommune", 2)
    for cell in (sheet["A2"], sheet["C2"], sheet["I2"], sheet["A3"], sheet["F3"], sheet["F4"]):
        assert (cell.data_type, cell.quotePrefix) == ("s", True), cell.coordinate
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_csv_export_is_utf8_bom_semicolon_and_neutralised(app, client, staff, export_offering):
    response = client.get(f"/staff/courses/{export_offering.id}/participants.csv")

    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == [
        '\'=HYPERLINK("http://x","y")', "'@SUM(A1)", "Åse Ølstad"]
    assert rows[1][2] == "'+47 123"
    assert rows[2][5] == "' =1+1"
    assert [row[7] for row in rows[1:]] == ["", "1", "2"]
    assert len(rows[1][9]) == len("2026-03-03 09:30")


def test_export_headers_follow_the_staff_members_language(app, client, staff, export_offering):
    client.get("/lang/nn")
    response = client.get(f"/staff/courses/{export_offering.id}/participants.csv")
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert header[0] == translated(app, "nn", "Name")
    assert header[4] == translated(app, "nn", "HPR number")


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+47 123", "'+47 123"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("  =cmd", "'  =cmd"), ("\t=cmd", "'\t=cmd"), ("\r=cmd", "'\r=cmd"), ("\tplain", "'\tplain"),
    ("\n+1", "'\n+1"), ("\uff1d1", "'\uff1d1"), ("Kari", "Kari"), ("", ""), ("a=b", "a=b"),
])
def test_neutralise_prefixes_every_formula_start(value, expected):
    assert neutralise(value) == expected


# --- scoping ------------------------------------------------------------------------------------


def test_staff_of_another_county_get_404_on_every_route(
        app, client, make_staff, login, make_offering, now):
    make_staff(email="ola@sfro.no", county=OTHER_COUNTY, name="Ola Nordmann")
    login("ola@sfro.no")
    offering = make_offering(capacity=1, requires_approval=True)
    target = make_offering()
    pending = enroll(app, offering.id, 1, now).enrollment.id
    enroll(app, offering.id, 2, now, full_name="Vestland Person")
    mails = len(outbox(app))
    o, e = offering.id, pending

    for method, url, data in [
        ("get", f"/staff/courses/{o}/participants", None),
        ("post", f"/staff/enrollments/{e}/approve", {}),
        ("get", f"/staff/enrollments/{e}/reject", None),
        ("post", f"/staff/enrollments/{e}/reject", {"reason": "No."}),
        ("get", f"/staff/enrollments/{e}/cancel", None),
        ("post", f"/staff/enrollments/{e}/cancel", {"reason": ""}),
        ("get", f"/staff/enrollments/{e}/move", None),
        ("post", f"/staff/enrollments/{e}/move", {"target": str(target.id)}),
        ("get", f"/staff/courses/{o}/participants/new", None),
        ("post", f"/staff/courses/{o}/participants/new", add_form()),
        ("get", f"/staff/courses/{o}/participants.csv", None),
        ("get", f"/staff/courses/{o}/participants.xlsx", None),
    ]:
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 404, (method, url)

    text = page(client.get("/staff/participants/search", query_string={"q": "Vestland"}))
    assert "Vestland Person" not in text
    assert status_of(app, pending) == S.PENDING
    with reading(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enrollment)) == 2
    assert len(outbox(app)) == mails
    assert audit_events(app) == []


def test_administrator_reaches_every_county(app, client, make_staff, login, make_offering, now):
    make_staff(email="admin@sf.no", admin=True, name="Admin")
    login("admin@sf.no")
    offering = make_offering(county=OTHER_COUNTY)
    enroll(app, offering.id, 1, now)
    assert client.get(f"/staff/courses/{offering.id}/participants").status_code == 200
    text = page(client.get("/staff/participants/search", query_string={"q": "deltakar1"}))
    assert "deltakar1@example.no" in text


def test_staff_pages_need_login(app, client, make_offering):
    offering = make_offering()
    response = client.get(f"/staff/courses/{offering.id}/participants")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
