"""One participant per person (issue 14, item 6): enrollments join the person holding a
confirmed address only once a link mailed to that address is opened; the export and the
request for erasure cover the whole person and go through a link mailed to the address."""

from __future__ import annotations

import json

import sqlalchemy as sa

from core.audit import AuditEvent
from core.db import session_scope
from enrollment.models import (
    Enrollment,
    ErasureRequest,
    ErasureStatus,
    ManageLink,
    Participant,
)
from tests.test_enrollment_web import EN, engine_of, manage_token, page, post_enroll
from tests.test_privacy import export_by_mail, mailed_privacy_link
from tests.test_staff_scoping import logged_in

KARI = "kari@example.org"


def people(app) -> list[tuple[int, str, str, bool]]:
    """(participant id, name, e-mail, confirmed) of every participant."""
    with session_scope(engine_of(app)) as session:
        return [(p.id, p.full_name, p.email, p.email_confirmed_at is not None)
                for p in session.scalars(sa.select(Participant).order_by(Participant.id))]


def owners(app) -> dict[int, int]:
    """Enrollment id → participant id."""
    with session_scope(engine_of(app)) as session:
        return dict(session.execute(sa.select(Enrollment.id, Enrollment.participant_id)).all())


def test_two_enrollments_of_one_person_give_one_export_with_both(app, client, make_offering):
    first, second = make_offering(), make_offering(title_en="Second course")
    post_enroll(client, first)
    one = manage_token(app, KARI)
    post_enroll(client, second, full_name="Kari B. Nordmann", employer="Askøy kommune")
    two = manage_token(app, KARI)
    assert len(people(app)) == 2  # each enrollment its own participant until a link is opened

    export_by_mail(app, client, one, KARI)  # Kari's address confirmed
    document = export_by_mail(app, client, two, KARI).get_json()  # the second one joins her

    [(person_id, name, email, confirmed)] = people(app)
    assert (name, email, confirmed) == ("Kari B. Nordmann", KARI, True)  # the newest details
    assert set(owners(app).values()) == {person_id}
    tables = document["tables"]
    assert document["person_id"] == person_id
    assert len(tables["enrollments"]) == 2
    # What was given with each enrollment is kept on it.
    given = {e["given_details"]["full_name"]: e["given_details"]["employer"]
             for e in tables["enrollments"]}
    assert given == {"Kari Nordmann": "Bergen kommune", "Kari B. Nordmann": "Askøy kommune"}
    subjects = {m["subject"] for m in tables["outbox_messages"]}
    assert {"Enrollment confirmed: Second course"} < subjects
    assert len([s for s in subjects if s.startswith("Enrollment confirmed")]) == 2
    merged = [e for e in tables["audit_events"] if e["action"] == "privacy.participants_merged"]
    assert len(merged) == 1
    # Both manage links open a page with the person's current details.
    assert "Kari B. Nordmann" in page(client.get(f"/manage/{one}", headers=EN))


def test_a_strangers_enrollment_with_someones_address_joins_them_only_when_confirmed(
        app, client, make_offering):
    mine, theirs = make_offering(), make_offering(title_en="Other course")
    post_enroll(client, mine)
    kari = manage_token(app, KARI)
    export_by_mail(app, client, kari, KARI)
    stranger = app.test_client()
    post_enroll(stranger, theirs, full_name="Mallory Malice", hpr_number="7654321")

    # The stranger's enrollment has its own participant; nothing of it is in Kari's export …
    assert [(name, confirmed) for _i, name, _e, confirmed in people(app)] == [
        ("Kari Nordmann", True), ("Mallory Malice", False)]
    text = json.dumps(export_by_mail(app, client, kari, KARI).get_json(), ensure_ascii=False)
    assert "Mallory" not in text
    assert "Other course" not in text
    # … and the stranger, who never sees the mail to Kari's address, learns nothing either.
    assert stranger.get("/personal-data/anything").status_code == 404

    # Only when the holder of the address opens a link mailed to it do the two become one.
    other = manage_token(app, KARI)  # the enrollment mail went to Kari's inbox
    assert other != kari
    joined = export_by_mail(app, client, other, KARI).get_json()
    assert len(joined["tables"]["enrollments"]) == 2
    assert len(people(app)) == 1


def test_erasure_through_the_mailed_link_covers_every_enrollment_of_the_person(
        app, client, make_offering, make_staff):
    vestland, rogaland = make_offering(), make_offering(county="rogaland",
                                                        title_en="Rogaland course")
    post_enroll(client, vestland)
    one = manage_token(app, KARI)
    post_enroll(client, rogaland)
    two = manage_token(app, KARI)
    export_by_mail(app, client, one, KARI)

    assert client.post(f"/manage/{two}/erasure", headers=EN).status_code == 302
    sent = client.post(mailed_privacy_link(app, KARI), headers=EN)

    assert "Your request for erasure is sent" in page(sent)
    [person_id] = [p[0] for p in people(app)]
    with session_scope(engine_of(app)) as session:
        requests = session.scalars(sa.select(ErasureRequest).order_by(ErasureRequest.id)).all()
        counties = [r.county.slug for r in requests]
        assert counties == ["rogaland", "vestland"]  # the county asked from first
        assert {r.participant_id for r in requests} == {person_id}
    make_staff(email="kari@sfvl.no", county="vestland")
    staff = logged_in(app, "kari@sfvl.no")
    assert "Kari Nordmann" in staff.get("/staff/privacy/erasure-requests").get_data(True)
    assert staff.post(f"/staff/privacy/participants/{person_id}/erasure").status_code == 302

    with session_scope(engine_of(app)) as session:
        person = session.get(Participant, person_id)
        assert (person.full_name, person.email, person.hpr_number) == ("", "", None)
        assert {r.status for r in session.scalars(sa.select(ErasureRequest))} == {
            ErasureStatus.CONFIRMED}
        assert session.scalar(sa.select(sa.func.count()).select_from(ManageLink).where(
            ManageLink.withdrawn_at.is_(None))) == 0
        assert all(e.given_details is None or set(e.given_details) <= {"role", "locale"}
                   for e in session.scalars(sa.select(Enrollment)))
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "privacy.erasure_confirmed")) == 1
    assert client.get(f"/manage/{one}").status_code == 404
    assert client.get(f"/manage/{two}").status_code == 404


def test_an_enrollment_keeps_the_role_it_was_made_in_when_the_person_enrolls_in_another(
        app, client, make_offering):
    from enrollment.models import EnrollmentStatus, Role
    from refunds.eligibility import check_eligible

    first, second = make_offering(refund_eligible=True), make_offering(title_en="Second course")
    post_enroll(client, first)
    one = manage_token(app, KARI)
    post_enroll(client, second)
    two = manage_token(app, KARI)
    with session_scope(engine_of(app)) as session:  # the second was made as a supervisor
        newest = session.scalar(sa.select(Enrollment).order_by(Enrollment.id.desc()).limit(1))
        newest.participant.role = Role.SUPERVISOR
    export_by_mail(app, client, one, KARI)
    export_by_mail(app, client, two, KARI)  # one person now, with the newest role

    with session_scope(engine_of(app)) as session:
        older, newer = session.scalars(sa.select(Enrollment).order_by(Enrollment.id)).all()
        assert older.participant_id == newer.participant_id
        assert older.participant.role == Role.SUPERVISOR
        assert (older.role, newer.role) == (Role.LIS1, Role.SUPERVISOR)
        assert older.status == EnrollmentStatus.CONFIRMED
        check_eligible(older)  # a LIS1 enrollment in a refunded course: no NotEligible


def test_a_manage_link_can_have_only_a_few_privacy_links_mailed_an_hour(app_config, make_offering):
    """Whoever holds a manage link cannot flood the address with privacy links: three an hour,
    export and erasure together; the fourth ask is answered 429 and mails nothing."""
    from app import create_app
    from core.mail import OutboxMessage

    app_config["RATELIMIT_ENABLED"] = True
    app = create_app(app_config)
    client = app.test_client()
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, KARI)

    answers = [client.post(f"/manage/{token}/my-data").status_code,
               client.post(f"/manage/{token}/erasure").status_code,
               client.post(f"/manage/{token}/my-data").status_code,
               client.post(f"/manage/{token}/erasure").status_code]
    assert answers == [302, 302, 302, 429]
    with session_scope(engine_of(app)) as session:
        mailed = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "enrollment.privacy_link"))
    assert mailed == 3
    app.extensions["kp_engine"].dispose()
