"""Waiting-list offers that expire: a freed seat is offered to the first in line, counts as
taken while offered, and passes on in arrival order when it runs out (the periodic command) or
is declined; accepting an expired offer is refused and changes nothing. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.audit import AuditEvent
from core.db import session_scope
from core.mail import OutboxMessage
from core.reminders import send_due
from enrollment.errors import OfferExpired
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Role
from enrollment.services import enrollments, offers
from enrollment.services.enrollments import PersonDetails
from tests.test_seat_counters import counters_and_counts

S = EnrollmentStatus


def person(n: int) -> PersonDetails:
    return PersonDetails(full_name=f"Deltakar {n}", email=f"tilbod{n}@example.no",
                         phone="+47 400 00 000", role=Role.LIS1, hpr_number=str(3_000_000 + n),
                         employer="Bergen kommune", locale="nn")


def statuses(app, offering_id: int) -> list[tuple[str, str]]:
    """Each enrollment's person and status, in arrival order."""
    with session_scope(app.extensions["kp_engine"]) as session:
        return [(e.participant.full_name[-1], e.status.value) for e in session.scalars(
            sa.select(Enrollment).where(Enrollment.offering_id == offering_id)
            .order_by(Enrollment.arrived_at, Enrollment.id))]


def mail_kinds(app) -> list[tuple[str, str]]:
    with session_scope(app.extensions["kp_engine"]) as session:
        return [(m.kind, m.to_address) for m in session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind.like("enrollment.offer%"))
            .order_by(OutboxMessage.id))]


def assert_counters_right(app) -> None:
    for offering_id, (stored, counted) in counters_and_counts(app).items():
        assert stored == counted, f"offering {offering_id}"


@pytest.fixture
def offered(app, make_offering, now):
    """One seat, offers open 48 hours: 1 confirmed, 2, 3 and 4 waiting; 1 then cancels, so 2 is
    offered the seat."""
    offering_id = make_offering(capacity=1, offer_hours=48).id
    engine = app.extensions["kp_engine"]
    with app.app_context(), session_scope(engine) as session:
        first = enrollments.enroll(session, offering_id, person(1), now).enrollment
        for n in (2, 3, 4):
            enrollments.enroll(session, offering_id, person(n), now + timedelta(seconds=n))
        enrollments.cancel(session, first, now + timedelta(minutes=1))
    return offering_id


def test_offered_seat_counts_as_taken_then_passes_on_in_arrival_order(app, offered, now):
    engine = app.extensions["kp_engine"]
    assert statuses(app, offered) == [("1", "cancelled"), ("2", "offered"), ("3", "waitlisted"),
                                      ("4", "waitlisted")]
    assert_counters_right(app)
    # Nobody takes the offered seat: a newcomer waits behind the others.
    with app.app_context(), session_scope(engine) as session:
        late = enrollments.enroll(session, offered, person(5), now + timedelta(minutes=2))
        assert (late.enrollment.status, late.waitlist_position) == (S.WAITLISTED, 3)
        offering = session.get(CourseOffering, offered)
        assert (offering.seats_taken, offering.waitlist_length) == (1, 3)

    # Before the deadline the command expires nothing; after it, the seat goes to 3.
    with app.app_context():
        assert send_due(app, engine, now + timedelta(hours=47))["enrollment.expired_offers"] == 0
        assert send_due(app, engine, now + timedelta(hours=49))["enrollment.expired_offers"] == 1
        assert send_due(app, engine, now + timedelta(hours=49))["enrollment.expired_offers"] == 0
    assert statuses(app, offered)[1:4] == [("2", "offer_expired"), ("3", "offered"),
                                           ("4", "waitlisted")]
    assert_counters_right(app)

    with app.app_context(), session_scope(engine) as session:
        by_name = {e.participant.full_name[-1]: e for e in session.scalars(
            sa.select(Enrollment).where(Enrollment.offering_id == offered))}
        assert by_name["3"].offer_expires_at == now + timedelta(hours=49 + 48)
        # 2's offer ran out: accepting now is refused and changes nothing.
        with pytest.raises(OfferExpired), session.begin_nested():
            offers.accept_offer(session, by_name["2"], now + timedelta(hours=49))
        # 3 declines: 4 is offered the seat, and accepts it.
        assert [e.id for e in offers.decline_offer(session, by_name["3"],
                                                   now + timedelta(hours=50))] == [by_name["4"].id]
        offers.accept_offer(session, by_name["4"], now + timedelta(hours=51))
    assert statuses(app, offered) == [("1", "cancelled"), ("2", "offer_expired"),
                                      ("3", "cancelled"), ("4", "confirmed"), ("5", "waitlisted")]
    assert_counters_right(app)
    assert mail_kinds(app) == [
        ("enrollment.offered", "tilbod2@example.no"),
        ("enrollment.offer_expired", "tilbod2@example.no"),
        ("enrollment.offered", "tilbod3@example.no"),
        ("enrollment.offered", "tilbod4@example.no"),
        ("enrollment.offer_accepted", "tilbod4@example.no"),
    ]
    with session_scope(engine) as session:
        audited = list(session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("enrollment.offer%")).order_by(AuditEvent.id)))
    assert audited == ["enrollment.offer", "enrollment.offer_expired", "enrollment.offer",
                       "enrollment.offer", "enrollment.offer_accepted"]


def test_participant_accepts_an_open_offer_and_is_refused_one_that_ran_out(
        app, client, make_offering, now):
    offering_id = make_offering(capacity=1, offer_hours=48).id
    engine = app.extensions["kp_engine"]
    with app.app_context(), session_scope(engine) as session:
        first = enrollments.enroll(session, offering_id, person(1), now).enrollment
        tokens = {n: enrollments.enroll(session, offering_id, person(n),
                                        now + timedelta(seconds=n)).token for n in (2, 3)}
        enrollments.cancel(session, first, now)
        # 2's offer ran out a minute ago; the periodic command has not run yet.
        session.get(Enrollment, first.id + 1).offer_expires_at = now - timedelta(minutes=1)
    en = {"Accept-Language": "en"}
    page = client.get(f"/manage/{tokens[2]}", headers=en).get_data(as_text=True)
    assert "was not accepted by" in page
    assert "Accept the seat" not in page

    refused = client.post(f"/manage/{tokens[2]}/offer/accept", headers=en)
    assert refused.status_code == 409
    assert "The time to accept the seat has run out" in refused.get_data(as_text=True)
    assert statuses(app, offering_id)[1:] == [("2", "offered"), ("3", "waitlisted")]

    with app.app_context():
        send_due(app, engine, now)
    page = client.get(f"/manage/{tokens[3]}", headers=en).get_data(as_text=True)
    assert "Accept the seat" in page
    assert "Decline the seat" in page
    accepted = client.post(f"/manage/{tokens[3]}/offer/accept", headers=en)
    assert accepted.status_code == 302
    assert "You have accepted the seat" in client.get(
        accepted.headers["Location"], headers=en).get_data(as_text=True)
    assert statuses(app, offering_id)[1:] == [("2", "offer_expired"), ("3", "confirmed")]
    assert_counters_right(app)
