"""Staff pages for course offerings: create, edit, publish, unpublish, cancel, capacity, sessions,
learning objectives, scoping and validation. Every test runs on SQLite and on PostgreSQL and
checks both what the page says and what the database holds afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.audit import AuditEvent
from core.db import new_session, session_scope
from core.i18n import OSLO, format_day
from core.mail import OutboxMessage
from core.models import County
from enrollment import errors
from enrollment.models import (
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    LearningObjective,
    OfferingStatus,
    Role,
)
from enrollment.services import enrollments, offerings

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = EnrollmentStatus


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def reading(app) -> Iterator[Session]:
    """A session that sees what is committed now."""
    session = new_session(app.extensions["kp_engine"], write=False)
    try:
        yield session
    finally:
        session.close()


def local_input(moment: datetime) -> str:
    """An aware datetime as a datetime-local input value in Norwegian time."""
    return moment.astimezone(OSLO).strftime("%Y-%m-%dT%H:%M")


def kind_id(app, code: str = "public_health") -> int:
    with reading(app) as session:
        return session.scalar(sa.select(CourseKind.id).where(CourseKind.code == code))


def county_id(app, slug: str) -> int:
    with reading(app) as session:
        return session.scalar(sa.select(County.id).where(County.slug == slug))


def cohort_code(now: datetime) -> str:
    return f"{now.year}-09"


def form_data(app, now: datetime, **overrides) -> dict:
    """A complete, valid offering form."""
    data = {
        "kind": str(kind_id(app)), "cohort": cohort_code(now),
        "title_nn": "Kurs i offentleg helsearbeid, haust", "title_nb": "",
        "title_en": "Public health course, autumn", "description_nn": "To dagar i Bergen.",
        "description_nb": "", "description_en": "", "venue": "Scandic Bergen City",
        "capacity": "20", "enroll_opens_at": local_input(now - timedelta(days=1)),
        "enroll_closes_at": local_input(now + timedelta(days=20)), "cancel_deadline": "",
        "refund_eligible": "y", "min_share_percent": "75", "signer_name": "Kari Lege",
        "signer_title": "Fylkeslege", "reminder_days": "7", "meeting_url": "",
        "offer_hours": "48",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def offering_values(offering: CourseOffering, **overrides) -> dict:
    """The edit form as it would be posted back unchanged for ``offering``."""
    data = {
        "kind": str(offering.kind_id), "cohort": offering.cohort.strftime("%Y-%m"),
        "title_nn": offering.title_nn, "title_nb": offering.title_nb,
        "title_en": offering.title_en, "description_nn": offering.description_nn,
        "description_nb": offering.description_nb, "description_en": offering.description_en,
        "venue": offering.venue, "capacity": str(offering.capacity),
        "enroll_opens_at": local_input(offering.enroll_opens_at),
        "enroll_closes_at": local_input(offering.enroll_closes_at),
        "cancel_deadline": (local_input(offering.cancel_deadline)
                            if offering.cancel_deadline else ""),
        "min_share_percent": str(offering.min_share_percent),
        "signer_name": offering.signer_name, "signer_title": offering.signer_title,
        "reminder_days": str(offering.reminder_days), "meeting_url": offering.meeting_url,
        "offer_hours": str(offering.offer_hours or 48),
    }
    if offering.offer_hours:
        data["offers_expire"] = "y"
    if offering.refund_eligible:
        data["refund_eligible"] = "y"
    if offering.requires_approval:
        data["requires_approval"] = "y"
    data.update(overrides)
    return data


def events(app) -> list[AuditEvent]:
    with reading(app) as session:
        return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def get_offering(app, offering_id: int) -> CourseOffering:
    """The offering as committed, with its sessions loaded."""
    with reading(app) as session:
        return session.scalar(sa.select(CourseOffering).where(CourseOffering.id == offering_id)
                              .options(selectinload(CourseOffering.sessions)))


def enroll(app, offering_id: int, n: int, when: datetime, locale: str = "nn") -> int:
    """Enroll participant ``n`` as the public form does; returns the enrollment id."""
    person = enrollments.PersonDetails(
        full_name=f"Deltakar {n}", email=f"deltakar{n}@example.no", phone="+47 400 00 000",
        role=Role.LIS1, hpr_number=str(1_000_000 + n), employer="Bergen kommune",
        locale=locale,
    )
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return enrollments.enroll(session, offering_id, person, when).enrollment.id


def statuses(app, offering_id: int) -> dict[int, EnrollmentStatus]:
    with reading(app) as session:
        rows = session.execute(sa.select(Enrollment.id, Enrollment.status)
                               .where(Enrollment.offering_id == offering_id))
        return dict(rows.all())


def outbox(app) -> list[OutboxMessage]:
    with reading(app) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def staff(make_staff, login):
    """Log in as county staff of Vestland."""
    make_staff()
    login()


@pytest.fixture
def admin(make_staff, login):
    """Log in as an administrator."""
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    login("admin@sf.no")


# --- create, sessions, publish -----------------------------------------------------------------


def test_create_add_two_sessions_and_publish_shows_course_in_catalog(app, client, staff, now):
    response = client.post("/staff/courses/new", data=form_data(
        app, now, cancel_deadline="2030-06-15T12:00"))
    assert response.status_code == 302
    with reading(app) as session:
        offering = session.scalar(sa.select(CourseOffering))
        assert offering.status == OfferingStatus.DRAFT
        assert offering.county.slug == "vestland"
        assert offering.cohort == date(now.year, 9, 1)
        assert (offering.capacity, offering.seats_taken) == (20, 0)
        # 12:00 in Oslo in summer is 10:00 UTC.
        assert offering.cancel_deadline == datetime(2030, 6, 15, 10, 0, tzinfo=UTC)
        offering_id = offering.id
    assert response.headers["Location"].endswith(f"/staff/courses/{offering_id}/edit")
    assert "Public health course, autumn" not in client.get("/").get_data(as_text=True)

    day = (now + timedelta(days=40)).astimezone(OSLO).date()
    for offset in (1, 0):  # added out of order: the page lists them by time
        response = client.post(f"/staff/courses/{offering_id}/sessions/new", data={
            "day": (day + timedelta(days=offset)).isoformat(), "starts": "09:00",
            "ends": "15:30", "place": "Rom 101" if offset else ""})
        assert response.status_code == 302
    page = client.get(f"/staff/courses/{offering_id}/edit").get_data(as_text=True)
    assert page.index(format_day(day, "en")) < page.index(format_day(day + timedelta(days=1),
                                                                     "en"))
    assert "Rom 101" in page

    response = client.post(f"/staff/courses/{offering_id}/publish", follow_redirects=True)
    assert "The course is published" in response.get_data(as_text=True)
    catalog = client.get("/").get_data(as_text=True)
    assert "Public health course, autumn" in catalog
    assert client.get(f"/courses/{offering_id}").status_code == 200

    with reading(app) as session:
        offering = session.get(CourseOffering, offering_id)
        assert offering.status == OfferingStatus.PUBLISHED
        first = offering.sessions[0]
        expected_start = datetime.combine(day, datetime.min.time().replace(hour=9), OSLO)
        assert first.starts_at == expected_start.astimezone(UTC)
        assert first.place == ""
    log = events(app)
    assert [e.action for e in log] == ["offering.create", "session.add", "session.add",
                                       "offering.publish"]
    assert (log[0].object_type, log[0].object_id, log[0].before) == (
        "course_offering", offering_id, None)
    assert log[0].after["title_en"] == "Public health course, autumn"
    assert log[0].actor_email == "kari@sfvl.no"
    assert (log[1].object_type, log[1].after["place"]) == ("course_session", "Rom 101")
    assert (log[3].before, log[3].after) == ({"status": "draft"}, {"status": "published"})
    assert all(e.county_id == county_id(app, "vestland") for e in log)


def test_publishing_without_sessions_is_refused(app, client, staff, now):
    client.post("/staff/courses/new", data=form_data(app, now))
    offering_id = get_offering_id(app)
    response = client.post(f"/staff/courses/{offering_id}/publish", follow_redirects=True)
    assert "Add at least one course day" in response.get_data(as_text=True)
    assert get_offering(app, offering_id).status == OfferingStatus.DRAFT
    assert [e.action for e in events(app)] == ["offering.create"]


def get_offering_id(app) -> int:
    with reading(app) as session:
        return session.scalar(sa.select(CourseOffering.id))


def test_county_staff_cannot_choose_another_county_but_admin_can(app, client, make_staff,
                                                                  login, now):
    make_staff()
    login()
    client.post("/staff/courses/new", data=form_data(
        app, now, county=str(county_id(app, "rogaland"))))
    assert get_offering(app, get_offering_id(app)).county_id == county_id(app, "vestland")
    assert 'name="county"' not in client.get("/staff/courses/new").get_data(as_text=True)

    make_staff(email="admin@sf.no", admin=True)
    login("admin@sf.no")
    response = client.post("/staff/courses/new", data=form_data(
        app, now, county=str(county_id(app, "rogaland")), title_en="Rogaland course"))
    assert response.status_code == 302
    with reading(app) as session:
        row = session.scalar(sa.select(CourseOffering).where(
            CourseOffering.title_en == "Rogaland course"))
        assert row.county.slug == "rogaland"


# --- edit ---------------------------------------------------------------------------------------


def test_edit_page_shows_times_in_norwegian_time(app, client, staff, make_offering):
    offering = make_offering(enroll_closes_at=datetime(2031, 1, 10, 15, 0, tzinfo=UTC))
    page = client.get(f"/staff/courses/{offering.id}/edit").get_data(as_text=True)
    assert 'value="2031-01-10T16:00"' in page  # UTC+1 in winter
    assert page.count("<h1>") == 1


def test_edit_saves_changes_and_audits_only_what_changed(app, client, staff, make_offering):
    offering = make_offering()
    meeting = "https://meet.example.no/kurs-1"
    response = client.post(f"/staff/courses/{offering.id}/edit", data=offering_values(
        offering, venue="Bergen rådhus", title_nb="Testkurs (bokmål)", requires_approval="y",
        meeting_url=meeting, reminder_days="3", offers_expire="y", offer_hours="24"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The course is saved." in page
    row = get_offering(app, offering.id)
    assert (row.venue, row.title_nb, row.requires_approval) == (
        "Bergen rådhus", "Testkurs (bokmål)", True)
    assert (row.meeting_url, row.reminder_days, row.offer_hours) == (meeting, 3, 24)
    [event] = events(app)
    assert (event.action, event.object_type, event.object_id) == (
        "offering.update", "course_offering", offering.id)
    assert event.before == {"venue": "Bergen", "title_nb": "Testkurs",
                            "requires_approval": False, "meeting_url": "", "reminder_days": 7,
                            "offer_hours": None}
    assert event.after == {"venue": "Bergen rådhus", "title_nb": "Testkurs (bokmål)",
                           "requires_approval": True, "meeting_url": meeting,
                           "reminder_days": 3, "offer_hours": 24}


def test_saving_unchanged_form_writes_no_event(app, client, staff, make_offering):
    offering = make_offering()
    response = client.post(f"/staff/courses/{offering.id}/edit", data=offering_values(offering))
    assert response.status_code == 302
    assert events(app) == []


# --- unpublish and cancel -------------------------------------------------------------------


def test_unpublish_hides_course_from_catalog(app, client, staff, make_offering):
    offering = make_offering(title_en="Hidden soon")
    client.get("/lang/en")
    assert "Hidden soon" in client.get("/").get_data(as_text=True)
    response = client.post(f"/staff/courses/{offering.id}/unpublish", follow_redirects=True)
    assert "hidden from the catalog" in response.get_data(as_text=True)
    assert "Hidden soon" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/courses/{offering.id}").status_code == 404
    assert get_offering(app, offering.id).status == OfferingStatus.DRAFT
    [event] = events(app)
    assert (event.action, event.before, event.after) == (
        "offering.unpublish", {"status": "published"}, {"status": "draft"})


def test_unpublish_is_refused_while_people_are_enrolled(app, client, staff, make_offering, now):
    offering = make_offering()
    enroll(app, offering.id, 1, now)
    response = client.post(f"/staff/courses/{offering.id}/unpublish", follow_redirects=True)
    assert "Cancel it instead" in response.get_data(as_text=True)
    assert get_offering(app, offering.id).status == OfferingStatus.PUBLISHED
    assert events(app) == []


def test_cancel_cancels_every_enrollment_and_mails_each_participant_in_their_locale(
    app, client, staff, make_offering, now,
):
    offering = make_offering(capacity=2)
    ids = [enroll(app, offering.id, n, now + timedelta(seconds=n), locale)
           for n, locale in ((1, "nn"), (2, "en"), (3, "nb"))]
    assert list(statuses(app, offering.id).values()).count(S.WAITLISTED) == 1
    sent_before = len(outbox(app))

    page = client.get(f"/staff/courses/{offering.id}/cancel").get_data(as_text=True)
    assert "3 active enrollments" in page
    response = client.post(f"/staff/courses/{offering.id}/cancel",
                           data={"reason": "For få påmelde."}, follow_redirects=True)
    assert "3 participants are told by e-mail" in response.get_data(as_text=True)

    row = get_offering(app, offering.id)
    assert (row.status, row.seats_taken) == (OfferingStatus.CANCELLED, 0)
    assert set(statuses(app, offering.id).values()) == {S.CANCELLED}
    mails = outbox(app)[sent_before:]
    assert [(m.to_address, m.locale) for m in mails] == [
        ("deltakar1@example.no", "nn"), ("deltakar2@example.no", "en"),
        ("deltakar3@example.no", "nb")]
    first_day = get_offering(app, offering.id).sessions[0].starts_at
    for mail in mails:
        # Dates come from CLDR in the participant's own language.
        assert format_day(first_day, mail.locale) in mail.body_text
        assert "For få påmelde." in mail.body_text
        assert "For få påmelde." in mail.body_html
        assert "Testkurs" in mail.subject or "Test course" in mail.subject
    [event] = events(app)
    assert (event.action, event.object_id) == ("offering.cancel", offering.id)
    assert event.before == {"status": "published", "seats_taken": 2, "active_enrollments": ids}
    assert event.after == {"status": "cancelled", "seats_taken": 0, "reason": "For få påmelde.",
                           "cancelled_enrollments": ids}
    assert "cancelled" in client.get(f"/courses/{offering.id}").get_data(as_text=True).lower()


def test_cancelled_course_cannot_be_published_again(app, client, staff, make_offering):
    offering = make_offering(status=OfferingStatus.CANCELLED)
    response = client.post(f"/staff/courses/{offering.id}/publish", follow_redirects=True)
    assert "The course is cancelled" in response.get_data(as_text=True)
    assert get_offering(app, offering.id).status == OfferingStatus.CANCELLED
    assert events(app) == []


# --- capacity -----------------------------------------------------------------------------------


def test_raising_capacity_promotes_waitlisted_in_arrival_order(app, client, staff,
                                                               make_offering, now):
    offering = make_offering(capacity=1)
    ids = [enroll(app, offering.id, n, now + timedelta(seconds=n)) for n in range(1, 5)]
    sent_before = len(outbox(app))
    response = client.post(f"/staff/courses/{offering.id}/edit",
                           data=offering_values(offering, capacity="3"), follow_redirects=True)
    assert "2 people got a seat from the waiting list" in response.get_data(as_text=True)
    assert statuses(app, offering.id) == {ids[0]: S.CONFIRMED, ids[1]: S.CONFIRMED,
                                          ids[2]: S.CONFIRMED, ids[3]: S.WAITLISTED}
    row = get_offering(app, offering.id)
    assert (row.capacity, row.seats_taken) == (3, 3)
    assert [m.to_address for m in outbox(app)[sent_before:]] == [
        "deltakar2@example.no", "deltakar3@example.no"]
    [event] = events(app)
    assert event.action == "offering.update"
    assert event.before == {"capacity": 1, "seats_taken": 1}
    assert event.after == {"capacity": 3, "seats_taken": 3,
                           "promoted_enrollments": [ids[1], ids[2]]}


def test_lowering_capacity_below_seats_taken_is_refused_with_message(app, client, staff,
                                                                     make_offering, now):
    offering = make_offering(capacity=3)
    for n in range(1, 4):
        enroll(app, offering.id, n, now)
    response = client.post(f"/staff/courses/{offering.id}/edit",
                           data=offering_values(offering, capacity="2", venue="Elsewhere"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="capacity-error"' in page
    assert "3 seats are taken, so the capacity cannot be lower than that." in page
    row = get_offering(app, offering.id)
    assert (row.capacity, row.seats_taken, row.venue) == (3, 3, "Bergen")
    assert events(app) == []


def test_set_capacity_service_promotes_and_writes_one_event(app, make_offering, make_staff, now):
    offering = make_offering(capacity=1)
    ids = [enroll(app, offering.id, n, now + timedelta(seconds=n)) for n in range(1, 3)]
    staff_id = make_staff()
    with app.test_request_context(), session_scope(app.extensions["kp_engine"]) as session:
        from core.auth import StaffUser

        actor = session.get(StaffUser, staff_id)
        row = session.get(CourseOffering, offering.id)
        with pytest.raises(errors.CapacityBelowTaken):
            offerings.set_capacity(session, row, 0, actor)
        promoted = offerings.set_capacity(session, row, 2, actor)
        assert [e.id for e in promoted] == [ids[1]]
    assert statuses(app, offering.id) == {ids[0]: S.CONFIRMED, ids[1]: S.CONFIRMED}
    [event] = events(app)
    assert (event.action, event.actor_id) == ("offering.set_capacity", staff_id)
    assert event.before == {"capacity": 1, "seats_taken": 1}
    assert event.after == {"capacity": 2, "seats_taken": 2, "promoted_enrollments": [ids[1]]}


# --- sessions -----------------------------------------------------------------------------------


def test_session_move_and_remove(app, client, staff, make_offering):
    offering = make_offering(days=2)
    first, second = get_offering(app, offering.id).sessions
    page = client.get(f"/staff/sessions/{first.id}/edit").get_data(as_text=True)
    local = first.starts_at.astimezone(OSLO)
    assert f'value="{local.date().isoformat()}"' in page

    new_day = date(2031, 3, 4)
    response = client.post(f"/staff/sessions/{first.id}/edit", data={
        "day": new_day.isoformat(), "starts": "10:00", "ends": "12:00", "place": "Voss"})
    assert response.status_code == 302
    with reading(app) as session:
        moved = session.get(CourseSession, first.id)
        assert moved.starts_at == datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
        assert moved.ends_at == datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
        assert moved.place == "Voss"

    response = client.post(f"/staff/sessions/{second.id}/delete", follow_redirects=True)
    assert "The course day is removed" in response.get_data(as_text=True)
    with reading(app) as session:
        assert session.get(CourseSession, second.id) is None

    # The last day of a published course stays.
    response = client.post(f"/staff/sessions/{first.id}/delete", follow_redirects=True)
    assert "needs at least one course day" in response.get_data(as_text=True)
    with reading(app) as session:
        assert session.get(CourseSession, first.id) is not None

    move, remove = events(app)
    assert (move.action, move.object_type, move.object_id) == (
        "session.move", "course_session", first.id)
    assert move.before["place"] == "Bergen"
    assert move.after == {
        "starts_at": "2031-03-04T09:00:00+00:00", "ends_at": "2031-03-04T11:00:00+00:00",
        "place": "Voss"}
    assert (remove.action, remove.object_id, remove.after) == ("session.remove", second.id, None)
    assert remove.before["offering_id"] == offering.id


def test_session_with_attendance_cannot_be_removed(app, client, staff, make_offering, now):
    offering = make_offering(days=2)
    first_id = get_offering(app, offering.id).sessions[0].id
    enrollment_id = enroll(app, offering.id, 1, now)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        session.add(Attendance(enrollment_id=enrollment_id, session_id=first_id, present=True))
    response = client.post(f"/staff/sessions/{first_id}/delete", follow_redirects=True)
    assert "Attendance is marked" in response.get_data(as_text=True)
    with reading(app) as session:
        assert session.get(CourseSession, first_id) is not None
    assert events(app) == []


def test_a_day_with_attendance_cannot_move_to_start_after_it_was_recorded(
        app, client, staff, make_offering, now):
    """The record never shows someone present at a day that had not begun: a day whose
    attendance was recorded can be corrected to an earlier time, not moved past the mark."""
    offering = make_offering(days=1, first_day=(now - timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0))
    day = get_offering(app, offering.id).sessions[0]
    enrollment_id = enroll(app, offering.id, 1, now)
    marked_at = day.starts_at + timedelta(hours=2)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        session.add(Attendance(enrollment_id=enrollment_id, session_id=day.id, present=True,
                               marked_at=marked_at))
    later = (now + timedelta(days=10)).astimezone(OSLO).date()

    response = client.post(f"/staff/sessions/{day.id}/edit", data={
        "day": later.isoformat(), "starts": "09:00", "ends": "15:00", "place": "Voss"})

    assert response.status_code == 400
    assert ("Attendance is already recorded for this course day, so it cannot be moved to "
            "start after the attendance was recorded.") in response.get_data(as_text=True)
    with reading(app) as session:
        kept = session.get(CourseSession, day.id)
        assert (kept.starts_at, kept.place) == (day.starts_at, day.place)
    assert events(app) == []

    earlier = day.starts_at.astimezone(OSLO) - timedelta(hours=1)
    response = client.post(f"/staff/sessions/{day.id}/edit", data={
        "day": earlier.date().isoformat(), "starts": earlier.strftime("%H:%M"),
        "ends": (earlier + timedelta(hours=5)).strftime("%H:%M"), "place": "Voss"})
    assert response.status_code == 302
    with reading(app) as session:
        assert session.get(CourseSession, day.id).starts_at == earlier.astimezone(UTC)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"day": "2031-03-04", "starts": "12:00", "ends": "09:00"}, "ends",
     "The end must be after the start."),
    ({"day": "0001-01-01", "starts": "09:00", "ends": "10:00"}, "day",
     "between the years 2000 and 2100"),
    ({"day": "tomorrow", "starts": "09:00", "ends": "10:00"}, "day", "Enter a date, like"),
    ({"day": "2031-03-04", "starts": "", "ends": "10:00"}, "starts", "Enter a time."),
])
def test_bad_session_input_is_shown_next_to_the_field(app, client, staff, make_offering,
                                                      data, field, message):
    offering = make_offering(days=1)
    response = client.post(f"/staff/courses/{offering.id}/sessions/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    with reading(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CourseSession)) == 1
    assert events(app) == []


# --- validation of the offering form ------------------------------------------------------


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"enroll_closes_at": "2020-01-01T10:00"}, "enroll_closes_at",
     "must be after enrollment opens"),
    ({"capacity": "-1"}, "capacity", "from 1 to 1,000"),
    ({"capacity": "100000"}, "capacity", "from 1 to 1,000"),
    ({"capacity": "ten"}, "capacity", "whole number"),
    ({"kind": "999999"}, "kind", "Choose a course kind from the list."),
    ({"cohort": "2026-05"}, "cohort", "Choose a cohort from the list."),
    ({"enroll_opens_at": "soon"}, "enroll_opens_at", "like 2026-03-02 09:00"),
    ({"enroll_opens_at": "0001-01-01T00:00"}, "enroll_opens_at", "between the years 2000"),
    ({"enroll_opens_at": ""}, "enroll_opens_at", "Enter a date and time."),
    ({"min_share_percent": "101"}, "min_share_percent", "from 1 to 100"),
    ({"title_nn": "x" * 201}, "title_nn", "At most 200 characters."),
    ({"meeting_url": "http://meet.example.no/kurs"}, "meeting_url", "starting with https://"),
    ({"reminder_days": "61"}, "reminder_days", "from 0 to 60"),
])
def test_bad_offering_input_rerenders_with_message_and_400(app, client, staff, now, overrides,
                                                           field, message):
    response = client.post("/staff/courses/new", data=form_data(app, now, **overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    with reading(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CourseOffering)) == 0
    assert events(app) == []


# --- learning objectives ------------------------------------------------------------------


def objectives(app, code: str = "public_health") -> list[tuple[str, str, str]]:
    with reading(app) as session:
        return [(o.code, o.text_nn, o.text_en) for o in session.scalars(
            sa.select(LearningObjective).join(LearningObjective.kind)
            .where(CourseKind.code == code).order_by(LearningObjective.position))]


def objective_rows(app, code: str = "public_health") -> list[LearningObjective]:
    with reading(app) as session:
        return list(session.scalars(
            sa.select(LearningObjective).join(LearningObjective.kind)
            .where(CourseKind.code == code).order_by(LearningObjective.position)))


def test_admin_edits_adds_and_removes_learning_objectives(app, client, admin):
    kid = kind_id(app)
    assert "Course in public health work" in client.get("/staff/kinds").get_data(as_text=True)
    page = client.get(f"/staff/kinds/{kid}/objectives").get_data(as_text=True)
    assert 'id="objectives-0-code"' in page
    assert 'id="new-code" maxlength="20" name="new-code" type="text"' in page  # not required
    rows = objective_rows(app)
    before = objectives(app)
    data = {}
    for i, o in enumerate(rows):
        data.update({f"objectives-{i}-objective_id": str(o.id), f"objectives-{i}-code": o.code,
                     f"objectives-{i}-text_nn": o.text_nn, f"objectives-{i}-text_nb": o.text_nb,
                     f"objectives-{i}-text_en": o.text_en})
    # Swap the first two codes, change a text, remove the third, add one.
    data["objectives-0-code"], data["objectives-1-code"] = rows[1].code, rows[0].code
    data["objectives-0-text_en"] = "Explain public health work."
    data["objectives-2-remove"] = "y"
    data.update({"new-code": "OH-99", "new-text_nn": "Nytt læringsmål.", "new-text_en": ""})
    response = client.post(f"/staff/kinds/{kid}/objectives", data=data, follow_redirects=True)
    assert "The learning objectives are saved." in response.get_data(as_text=True)

    after = objectives(app)
    assert after == [
        (before[1][0], before[0][1], "Explain public health work."),
        (before[0][0], before[1][1], before[1][2]),
        *before[3:],
        ("OH-99", "Nytt læringsmål.", ""),
    ]
    [event] = events(app)
    assert (event.action, event.object_type, event.object_id) == (
        "kind.update_objectives", "course_kind", kid)
    assert [o["code"] for o in event.before["objectives"]] == [b[0] for b in before]
    assert [o["code"] for o in event.after["objectives"]] == [a[0] for a in after]


def test_duplicate_objective_code_is_refused_with_400(app, client, admin):
    kid = kind_id(app)
    first = objective_rows(app)[0]
    response = client.post(f"/staff/kinds/{kid}/objectives", data={
        "objectives-0-objective_id": str(first.id), "objectives-0-code": first.code,
        "objectives-0-text_nn": first.text_nn, "new-code": first.code, "new-text_nn": "Dobbel."})
    assert response.status_code == 400
    assert "Another objective has this key." in response.get_data(as_text=True)
    assert events(app) == []
    assert "Dobbel." not in [o[1] for o in objectives(app)]


def test_county_staff_get_404_for_kinds_and_objectives(app, client, staff):
    kid = kind_id(app)
    assert client.get("/staff/kinds").status_code == 404
    assert client.get(f"/staff/kinds/{kid}/objectives").status_code == 404
    response = client.post(f"/staff/kinds/{kid}/objectives", data={
        "new-code": "X-1", "new-text_nn": "Skal ikkje lagrast."})
    assert response.status_code == 404
    assert "X-1" not in [o[0] for o in objectives(app)]
    assert "Course kinds" not in client.get("/staff/courses").get_data(as_text=True)


# --- access -------------------------------------------------------------------------------------


def test_rogaland_staff_get_404_for_a_vestland_offering_on_every_route(
    app, client, make_staff, login, make_offering, now,
):
    offering = make_offering(title_en="Vestland only", days=2)
    enroll(app, offering.id, 1, now)
    make_staff(email="ola@sfro.no", county="rogaland")
    login("ola@sfro.no")
    oid, sid = offering.id, get_offering(app, offering.id).sessions[0].id
    session_form = {"day": "2031-03-04", "starts": "09:00", "ends": "10:00"}
    requests = [
        ("GET", f"/staff/courses/{oid}/edit", None),
        ("POST", f"/staff/courses/{oid}/edit", offering_values(offering, capacity="50")),
        ("POST", f"/staff/courses/{oid}/publish", None),
        ("POST", f"/staff/courses/{oid}/unpublish", None),
        ("GET", f"/staff/courses/{oid}/cancel", None),
        ("POST", f"/staff/courses/{oid}/cancel", {"reason": "x"}),
        ("GET", f"/staff/courses/{oid}/sessions/new", None),
        ("POST", f"/staff/courses/{oid}/sessions/new", session_form),
        ("GET", f"/staff/sessions/{sid}/edit", None),
        ("POST", f"/staff/sessions/{sid}/edit", session_form),
        ("POST", f"/staff/sessions/{sid}/delete", None),
    ]
    for method, url, data in requests:
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url)
    assert "Vestland only" not in client.get("/staff/courses").get_data(as_text=True)
    row = get_offering(app, oid)
    assert (row.status, row.capacity, len(row.sessions)) == (OfferingStatus.PUBLISHED, 10, 2)
    assert events(app) == []
    assert set(statuses(app, oid).values()) == {S.CONFIRMED}


def test_list_shows_own_county_for_staff_and_all_for_admin(app, client, make_staff, login,
                                                           make_offering):
    make_offering(title_en="Bergen course", status=OfferingStatus.DRAFT)
    make_offering(county="rogaland", title_en="Stavanger course", title_nb="Stavanger-kurs")
    make_staff()
    login()
    page = client.get("/staff/courses").get_data(as_text=True)
    assert "Stavanger course" not in page
    for text in ("Bergen course", "Draft", "0 of 10 taken", '<th scope="col">'):
        assert text in page

    make_staff(email="admin@sf.no", admin=True)
    login("admin@sf.no")
    page = client.get("/staff/courses").get_data(as_text=True)
    assert all(text in page for text in ("Bergen course", "Stavanger course"))


def test_staff_pages_need_login(client, make_offering):
    offering = make_offering()
    for url in ("/staff/courses", "/staff/courses/new", f"/staff/courses/{offering.id}/edit",
                "/staff/kinds"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/staff/login" in response.headers["Location"]
    assert client.post(f"/staff/courses/{offering.id}/publish").status_code == 302


def test_staff_pages_are_not_cached(client, staff):
    assert client.get("/staff/courses").headers["Cache-Control"] == "no-store"
