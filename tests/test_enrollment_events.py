"""Enrollment's domain events: mail and audit follow from what a service did, whoever called
it; the mail is recorded under the seat lock and rendered only after the commit; and the course
page, the catalog and the enroll service share one rule of "enrollment is open"."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import render_template, template_rendered

from core.audit import AuditEvent
from core.db import session_scope
from core.events import subscribe
from core.mail import OutboxMessage
from core.mail_kinds import render_recorded
from enrollment import errors, events
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, EnrollmentWindow, Role
from enrollment.services import catalog, enrollments, offerings, seats
from enrollment.services.attendance import Mark, save_attendance
from enrollment.services.enrollments import PersonDetails

S = EnrollmentStatus


def engine_of(app):
    return app.extensions["kp_engine"]


def person(n: int) -> PersonDetails:
    return PersonDetails(full_name=f"Deltakar {n}", email=f"deltakar{n}@example.no",
                         phone="+47 400 00 000", role=Role.LIS1, hpr_number=str(1_000_000 + n),
                         employer="Bergen kommune", locale="nn")


def outbox(app) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_direct_call_of_the_cancel_service_mails_the_promoted_person(app, make_offering, now):
    offering = make_offering(capacity=1)
    with app.app_context(), session_scope(engine_of(app)) as session:
        seat = enrollments.enroll(session, offering.id, person(1), now).enrollment.id
        waiting = enrollments.enroll(session, offering.id, person(2), now).enrollment.id
    before = {m.id for m in outbox(app)}

    # A caller that knows nothing of mail: no view, no request, just the service.
    with app.app_context(), session_scope(engine_of(app)) as session:
        promoted = enrollments.cancel(session, session.get(Enrollment, seat), now)
        assert [e.id for e in promoted] == [waiting]
    with app.app_context():
        render_recorded(app, engine_of(app))

    new = [m for m in outbox(app) if m.id not in before]
    assert [(m.kind, m.to_address, m.locale) for m in new] == [
        ("enrollment.cancelled", "deltakar1@example.no", "nn"),
        ("enrollment.promoted", "deltakar2@example.no", "nn"),
    ]
    promoted_mail = new[1]
    assert promoted_mail.params == {"enrollment_id": waiting}
    assert promoted_mail.subject == "Du har fått plass: Testkurs"
    assert promoted_mail.rendered_at is not None
    assert "Deltakar 2" in promoted_mail.body_text
    with session_scope(engine_of(app)) as session:
        assert session.get(Enrollment, waiting).status == S.CONFIRMED


def test_enrolling_renders_no_template_while_the_seat_lock_is_held(app, client, make_offering):
    """The request's story in order: the person, the enrollment and its link written, then the
    seat decision, which takes the lock (on PostgreSQL the one ``UPDATE course_offerings``; on
    SQLite the write lock from the first statement), the outbox row, the commit, and only then
    the mail's templates (right after the commit, before the answer)."""
    offering = make_offering()
    story: list[tuple[str, str]] = []
    engine = engine_of(app)
    sqlite = engine.dialect.name == "sqlite"

    def statement(_conn, _cursor, sql, *_args):
        locks = sql.startswith("BEGIN IMMEDIATE") if sqlite else (
            sql.startswith("UPDATE course_offerings") or (
                "FOR UPDATE" in sql and "course_offerings" in sql))
        story.append(("lock" if locks else "sql", " ".join(sql.split()[:3])))

    def committed(_conn):
        story.append(("commit", ""))

    def rendered(_app, template, **_context):
        story.append(("template", template.name))

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", committed)
    template_rendered.connect(rendered, app)
    try:
        answer = client.post(f"/courses/{offering.id}/enroll", data=dict(
            full_name="Kari Nordmann", email="kari@example.org", phone="412 34 567",
            role="lis1", hpr_number="1234567", employer="Bergen kommune",
            start_month=f"{offering.cohort:%Y-%m}", locale="en", consent="y"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "commit", committed)
        template_rendered.disconnect(rendered, app)

    assert answer.status_code == 302
    kinds = [kind for kind, _ in story]
    lock = kinds.index("lock")
    commit = kinds.index("commit", lock)
    held = story[lock:commit]
    assert [name for kind, name in held if kind == "template"] == []
    assert ("sql", "INSERT INTO outbox_messages") in held  # recorded with the decision
    if not sqlite:  # written before the seat decision, so not under its lock
        assert [sql for kind, sql in held if kind == "sql" and not sql.startswith(
            ("INSERT INTO outbox_messages", "UPDATE enrollments", "RELEASE SAVEPOINT"))] == []
        assert [sql for sql in ("INSERT INTO participants", "INSERT INTO enrollments",
                                "INSERT INTO manage_links") if ("sql", sql) in story[:lock]] \
            == ["INSERT INTO participants", "INSERT INTO enrollments", "INSERT INTO manage_links"]
    after = [name for kind, name in story[commit:] if kind == "template"]
    assert "enrollment/mail/enrolled.txt" in after
    assert "enrollment/mail/enrolled.html" in after
    [mail] = outbox(app)
    assert mail.kind == "enrollment.enrolled"
    assert mail.rendered_at is not None
    assert mail.subject.startswith("Enrollment confirmed: ")
    assert [a["filename"] for a in mail.attachments] == [f"course-{offering.id}.ics"]


@pytest.mark.parametrize("edge", ["opens", "closes"])
def test_course_page_catalog_form_and_service_agree_at_the_window_edges(app, make_offering,
                                                                        now, edge):
    opens, closes = now - timedelta(days=1), now + timedelta(days=1)
    offering = make_offering(enroll_opens_at=opens, enroll_closes_at=closes)
    moment = opens if edge == "opens" else closes
    for at in (moment - timedelta(microseconds=1), moment, moment + timedelta(microseconds=1)):
        expected_open = opens <= at < closes
        with app.test_request_context("/"), session_scope(engine_of(app)) as session:
            shown = catalog.load_offering(session, offering.id)
            window = shown.enrollment_window(at)
            page = render_template("enrollment/course.html", offering=shown, now=at)
            listed = session.scalars(catalog.catalog_query(
                catalog.CatalogFilter(open_only=True), at)).all()
            try:
                seats.check_open(shown, at)
                refusal = None
            except (errors.NotOpenYet, errors.EnrollmentClosed) as refused:
                refusal = type(refused)
        service_open = refusal is None
        if not expected_open:
            assert refusal is (errors.NotOpenYet if at < opens else errors.EnrollmentClosed)
        assert (window == EnrollmentWindow.OPEN) is expected_open, at
        assert service_open is expected_open, at
        assert (f"/courses/{offering.id}/enroll" in page) is expected_open, at
        assert (offering.id in [o.id for o in listed]) is expected_open, at


def test_a_cancelled_offering_is_not_open_on_the_page_or_in_the_service(app, make_offering,
                                                                        now):
    offering = make_offering()
    with app.app_context(), session_scope(engine_of(app)) as session:
        offerings.cancel_offering(session, session.get(CourseOffering, offering.id), None)
    with session_scope(engine_of(app)) as session:
        row = session.get(CourseOffering, offering.id)
        assert row.enrollment_window(now) == EnrollmentWindow.NOT_PUBLISHED
        with pytest.raises(errors.OfferingCancelled):
            seats.check_open(row, now)


def test_saving_attendance_publishes_the_marks_for_other_plugins(app, make_offering, now):
    """``attendance_recorded`` carries what certificates need: the offering, the saved marks,
    the actor; the audit log's subscriber writes the same event as before."""
    offering = make_offering(first_day=now - timedelta(days=1), days=1, session_hours=(0, 1))
    heard = []
    subscribe(app, events.attendance_recorded,
              lambda _app, **data: heard.append((data["offering"].id, dict(data["marks"]),
                                                 data["actor"])))
    with app.app_context(), session_scope(engine_of(app)) as session:
        a = enrollments.enroll(session, offering.id, person(1), now).enrollment.id
        b = enrollments.enroll(session, offering.id, person(2), now).enrollment.id
    with app.app_context(), session_scope(engine_of(app)) as session:
        course_session = session.get(CourseOffering, offering.id).sessions[0]
        save_attendance(session, course_session, {a: Mark.PRESENT, b: Mark.ABSENT}, None, now)

    assert heard == [(offering.id, {a: Mark.PRESENT, b: Mark.ABSENT}, None)]
    with session_scope(engine_of(app)) as session:
        [event] = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "attendance.save")).all()
        assert event.after == {str(a): True, str(b): False}


def test_mail_rendered_late_by_the_sender_says_what_was_decided_then(app, make_offering, now):
    """The sender catches up on mail a crash left unrendered: the enrollment mail still tells
    the waiting-list place the person was given, although they have a seat by now."""
    offering = make_offering(capacity=1)
    with app.app_context(), session_scope(engine_of(app)) as session:
        seat = enrollments.enroll(session, offering.id, person(1), now).enrollment.id
        enrollments.enroll(session, offering.id, person(2), now)
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollments.cancel(session, session.get(Enrollment, seat), now)
    assert all(m.rendered_at is None for m in outbox(app))

    with app.app_context():
        assert render_recorded(app, engine_of(app)) == 4

    mails = {(m.kind, m.to_address): m for m in outbox(app)}
    waited = mails["enrollment.enrolled", "deltakar2@example.no"]
    assert waited.params["status"] == "waitlisted"
    assert waited.params["position"] == 1
    assert waited.subject == "Du står på venteliste: Testkurs"
    assert "Du har plass nr. 1 på ventelista." in waited.body_text
    assert mails["enrollment.promoted", "deltakar2@example.no"].subject == (
        "Du har fått plass: Testkurs")
