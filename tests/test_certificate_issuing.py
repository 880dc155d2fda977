"""When a certificate is issued: never by a page that only reads. The participant's button and
staff printing issue by POST, saving attendance issues what it makes due, ``flask certificates
issue-due`` issues the rest once their days have ended; every issue and revocation is published
(``certificates.events``) and the audit log subscribes.

Tests that take ``app`` run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from certificates import events, subscribers
from core.audit import AuditEvent
from core.auth import StaffUser
from core.db import session_scope
from core.events import subscribe
from enrollment.models import CourseOffering, Enrollment, Participant
from tests.test_certificates import (
    attend,
    audit_actions,
    certificates_of,
    course,
    engine_of,
    enroll,
    fetch,
    mark_present,
    text_of,
)


def test_the_download_link_never_issues_and_offers_the_button_that_does(
        app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="nb")
    attend(app, enrollment_id)
    client.get("/lang/en")

    # An old link or a bookmark: the certificate is due, not issued. The page says so.
    answer = fetch(client, token, "en")

    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert answer.headers["Cache-Control"] == "no-store"
    page = text_of(answer)
    assert "your certificate of attendance is not issued yet" in page
    assert f'method="post" action="/manage/{token}/certificate"' in page
    assert '<option value="en" lang="en" selected>English</option>' in page
    assert certificates_of(app, enrollment_id) == []

    pressed = client.post(f"/manage/{token}/certificate", data={"lang": "en"})

    assert pressed.status_code == 303
    assert pressed.headers["Location"] == f"/manage/{token}/certificate.pdf?lang=en"
    (certificate,) = certificates_of(app, enrollment_id)
    assert certificate.issued_by_id is None
    assert audit_actions(app) == []  # the participant's own request is no staff decision
    pdf = fetch(client, token, "en")
    assert pdf.mimetype == "application/pdf"
    # Pressing again issues nothing new.
    assert client.post(f"/manage/{token}/certificate", data={"lang": "nn"}).status_code == 303
    assert [c.code for c in certificates_of(app, enrollment_id)] == [certificate.code]


def test_the_button_refuses_what_the_rule_refuses(app, client, make_offering):
    offering = course(make_offering, days=3)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id, present=2)

    assert client.post(f"/manage/{token}/certificate", data={"lang": "nn"}).status_code == 404
    assert client.post(f"/manage/{token}/certificate", data={"lang": "de"}).status_code == 404
    assert fetch(client, token).status_code == 404
    assert certificates_of(app, enrollment_id) == []


def test_issue_due_command_issues_once_and_only_after_the_last_counted_day(
        app, runner, make_offering):
    now = datetime.now(UTC)
    held = course(make_offering)
    done_a = enroll(app, held.id, "Åse Ødegård")[0]
    done_b = enroll(app, held.id, "Máret Čuđđá Ŋŧž")[0]
    short = enroll(app, held.id, "Absent Person")[0]
    erased = enroll(app, held.id, "Erased Person")[0]
    for enrollment_id in (done_a, done_b, erased):
        attend(app, enrollment_id)
    attend(app, short, present=1)
    with session_scope(engine_of(app)) as session:
        session.get(Enrollment, erased).participant.anonymised_at = now
    # Today's day is under way: present at both days, but the last has not ended.
    today = course(make_offering, first_day=now - timedelta(days=1, hours=1),
                   session_hours=(0, 6))
    waiting = enroll(app, today.id, "Zoe Smith")[0]
    mark_present(app, waiting)

    first = runner.invoke(args=["certificates", "issue-due"])
    again = runner.invoke(args=["certificates", "issue-due"])

    assert first.exit_code == 0, first.output
    assert "Certificates issued: 2" in first.output
    assert "Certificates issued: 0" in again.output
    assert len(certificates_of(app, done_a)) == len(certificates_of(app, done_b)) == 1
    assert certificates_of(app, short) == certificates_of(app, erased) == []
    assert certificates_of(app, waiting) == []
    assert audit_actions(app) == []  # issued by the rule with no staff member
    (certificate,) = certificates_of(app, done_a)
    assert certificate.snapshot["attended"] == 2
    assert certificate.issued_by_id is None


def test_saving_attendance_issues_the_certificates_it_makes_due_by_who_saved(
        app, make_offering, make_staff):
    offering = course(make_offering)
    present = enroll(app, offering.id, "Åse Ødegård")[0]
    absent = enroll(app, offering.id, "Máret Čuđđá Ŋŧž")[0]
    attend(app, present)
    attend(app, absent, present=1)
    staff_id = make_staff()

    with app.app_context(), session_scope(engine_of(app)) as session:
        actor = session.get(StaffUser, staff_id)
        subscribers.issue_for_attendance(
            app, session=session, offering=session.get(CourseOffering, offering.id),
            marks={}, actor=actor)

    (certificate,) = certificates_of(app, present)
    assert certificates_of(app, absent) == []
    with session_scope(engine_of(app)) as session:
        (event,) = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "certificate"))
        assert (event.action, event.actor_id, event.object_id) == (
            "certificate.issue", staff_id, certificate.id)
        assert event.county_id == offering.county_id
        assert event.after["code"] == certificate.code


def test_attendance_saved_on_the_staff_page_issues_the_certificate(
        app, client, make_offering, make_staff, login):
    # Needs enrollment's ``attendance_recorded`` event (enrollment/events.py).
    pytest.importorskip("enrollment.events")
    offering = course(make_offering)
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    make_staff()
    login()
    with session_scope(engine_of(app)) as session:
        days = [s.id for s in session.get(CourseOffering, offering.id).sessions]

    for day in days:
        response = client.post(f"/staff/sessions/{day}/attendance",
                               data={"save": "Save", f"mark-{enrollment_id}": "present"})
        assert response.status_code == 302

    (certificate,) = certificates_of(app, enrollment_id)
    assert certificate.snapshot["attended"] == 2
    assert audit_actions(app) == ["certificate.issue"]


def test_issued_and_revoked_are_published_with_who_and_why(
        app, client, make_offering, make_staff, login):
    heard = []

    def hear(name):
        # The actor is the request's current user: read who it is while the request runs.
        return lambda _app, **data: heard.append((name, {**data, "actor_id": data["actor"].id}))

    subscribe(app, events.issued, hear("issued"))
    subscribe(app, events.revoked, hear("revoked"))
    offering = course(make_offering)
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    attend(app, enrollment_id, present=1)
    staff_id = make_staff()
    login()

    client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                data={"reason": "Ill on day two"})
    client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                data={"reason": "Name corrected"})
    (certificate,) = certificates_of(app, enrollment_id)
    client.post(f"/staff/certificates/{certificate.id}/revoke", data={"reason": "Wrong person"})

    assert [(name, data.get("by_hand"), data.get("reissue")) for name, data in heard] == [
        ("issued", True, False), ("issued", True, True), ("revoked", None, None)]
    assert all(data["actor_id"] == staff_id for _name, data in heard)
    assert all(data["certificate"].id == certificate.id for _name, data in heard)
    assert heard[0][1]["completed"] is False
    assert heard[1][1]["before"]["manual_reason"] == "Ill on day two"
    assert heard[2][1]["reason"] == "Wrong person"
    assert audit_actions(app) == ["certificate.issue_by_hand", "certificate.reissue",
                                  "certificate.revoke"]


def test_a_refused_issue_by_hand_keeps_nothing(app, client, make_offering, make_staff, login):
    now = datetime.now(UTC)
    offering = course(make_offering, first_day=now - timedelta(days=1, hours=1),
                      session_hours=(0, 6))
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    make_staff()
    login()

    refused = client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                          data={"reason": "Present both days"})

    assert refused.status_code == 409
    assert "a certificate can be issued by hand once the course has ended" in text_of(refused)
    assert certificates_of(app, enrollment_id) == []
    assert audit_actions(app) == []
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1
