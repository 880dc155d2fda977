"""The offering's seat counters (``seats_taken``, ``waitlist_length``, ``last_arrival_at``) that
the one-statement seat decision reads agree with the enrollments themselves after any mix of
what participants and staff do, on SQLite and PostgreSQL; the migration fills them from the
rows already there."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from core.cli import alembic_config
from core.db import new_session, session_scope
from core.mail import OutboxMessage
from enrollment import errors
from enrollment.models import (
    ACTIVE_STATUSES,
    SEATED_STATUSES,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    Role,
)
from enrollment.services import enrollments, offerings, offers, participants, seats
from enrollment.services.enrollments import PersonDetails

S = EnrollmentStatus


def person(n: int) -> PersonDetails:
    return PersonDetails(full_name=f"Deltakar {n}", email=f"teller{n}@example.no",
                         phone="+47 400 00 000", role=Role.LIS1, hpr_number=str(2_000_000 + n),
                         employer="Bergen kommune", locale="nn")


def counters_and_counts(app) -> dict[int, tuple]:
    """Per offering: (seats_taken, waitlist_length, last_arrival_at) as stored, and the same
    three counted from its enrollments (a seat offered counts as taken), in one snapshot."""
    of = Enrollment.offering_id == CourseOffering.id

    def count(*statuses):
        return (sa.select(sa.func.count()).select_from(Enrollment)
                .where(of, Enrollment.status.in_(statuses)).scalar_subquery())

    latest = sa.select(sa.func.max(Enrollment.arrived_at)).where(of).scalar_subquery()
    with new_session(app.extensions["kp_engine"], write=False) as session:
        rows = session.execute(sa.select(
            CourseOffering.id, CourseOffering.seats_taken, CourseOffering.waitlist_length,
            CourseOffering.last_arrival_at, count(*SEATED_STATUSES), count(S.WAITLISTED),
            sa.type_coerce(latest, CourseOffering.last_arrival_at.type))).all()
    return {row[0]: (tuple(row[1:4]), tuple(row[4:7])) for row in rows}


OPERATIONS = ["enroll", "enroll", "enroll", "add", "cancel", "staff_cancel", "approve",
              "reject", "move", "capacity", "accept", "expire"]


def one_operation(app, rng: random.Random, ids: list[int], n: int, now) -> str:
    """Do one operation picked by ``rng`` and commit it (a refusal rolls it back)."""
    name = rng.choice(OPERATIONS)
    offering_id = rng.choice(ids)
    engine = app.extensions["kp_engine"]
    with app.app_context(), session_scope(engine) as session:
        active = list(session.scalars(
            sa.select(Enrollment.id).where(Enrollment.status.in_(ACTIVE_STATUSES))
            .order_by(Enrollment.id)))
        pending = list(session.scalars(
            sa.select(Enrollment.id).where(Enrollment.status == S.PENDING)
            .order_by(Enrollment.id)))
        offered = list(session.scalars(
            sa.select(Enrollment.id).where(Enrollment.status == S.OFFERED)
            .order_by(Enrollment.id)))
        try:
            if name == "enroll":
                enrollments.enroll(session, offering_id, person(n), now)
            elif name == "add":
                participants.add(session, offering_id, person(n), actor=None, now=now)
            elif name == "cancel" and active:
                enrollments.cancel(session, session.get(Enrollment, rng.choice(active)), now)
            elif name == "staff_cancel" and active:
                participants.cancel(session, rng.choice(active), "Sjuk", actor=None, now=now)
            elif name == "approve" and pending:
                participants.approve(session, rng.choice(pending), actor=None)
            elif name == "reject" and active:
                participants.reject(session, rng.choice(active), "Fullt", actor=None)
            elif name == "move" and active:
                participants.move(session, rng.choice(active), offering_id, actor=None,
                                  now=now)
            elif name == "accept" and offered:
                offers.accept_offer(session, session.get(Enrollment, rng.choice(offered)), now)
            elif name == "expire":  # the periodic command, an hour on: the offers have run out
                offers.expire_offers(session, offering_id, now + timedelta(hours=1))
            elif name == "capacity":
                offering = session.get(CourseOffering, offering_id)
                offerings.set_capacity(session, offering, rng.randint(0, 6), actor=None)
        except (errors.EnrollmentError, LookupError):
            session.rollback()
            return name + " (refused)"
    return name


@pytest.mark.parametrize("seed", [1, 2])
def test_counters_equal_the_counts_after_a_random_sequence_of_operations(
        app, make_offering, now, seed):
    rng = random.Random(seed)
    ids = [make_offering(capacity=3).id, make_offering(capacity=2, offer_hours=1).id,
           make_offering(capacity=2, requires_approval=True, offer_hours=1).id]
    done = []
    for step in range(60):
        when = now + timedelta(seconds=step // 3)  # some in the same instant
        done.append(one_operation(app, rng, ids, step, when))
        for offering_id, (stored, counted) in counters_and_counts(app).items():
            assert stored == counted, f"offering {offering_id} after {done}"
    # The sequence did each kind of thing at least once, and changed something.
    assert {name.split()[0] for name in done} == set(OPERATIONS)
    assert any(counted[1] for _stored, counted in counters_and_counts(app).values())
    # Seats were offered along the way, and offers answered or run out (test_seat_offers goes
    # through each step in order).
    with new_session(app.extensions["kp_engine"], write=False) as session:
        kinds = set(session.scalars(sa.select(OutboxMessage.kind)))
    assert "enrollment.offered" in kinds, done
    assert kinds & {"enrollment.offer_accepted", "enrollment.offer_expired"}, done


def test_a_person_joins_the_end_of_the_waiting_list_even_with_a_seat_free(
        app, make_offering, now):
    """Nobody jumps the queue: while someone waits, a newcomer waits too (the seat decision
    gives a seat only when one is free and nobody waits)."""
    offering_id = make_offering(capacity=1).id
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        enrollments.enroll(session, offering_id, person(1), now)
        waiting = enrollments.enroll(session, offering_id, person(2), now)
        # A seat freed without promoting (as data from before the counters could hold).
        offering = session.get(CourseOffering, offering_id)
        offering.capacity = 2
        session.flush()
        late = enrollments.enroll(session, offering_id, person(3), now)
    assert (waiting.enrollment.status, waiting.waitlist_position) == (S.WAITLISTED, 1)
    assert (late.enrollment.status, late.waitlist_position) == (S.WAITLISTED, 2)
    assert (late.enrollment.arrived_at, late.enrollment.id) > (waiting.enrollment.arrived_at,
                                                               waiting.enrollment.id)


def test_arrivals_in_the_same_instant_keep_the_order_of_their_decisions(
        app, make_offering, now):
    offering_id = make_offering(capacity=1).id
    results = []
    for n in range(4):
        with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
            results.append(enrollments.enroll(session, offering_id, person(n), now))
    with new_session(app.extensions["kp_engine"], write=False) as session:
        order = list(session.scalars(
            sa.select(Enrollment.id).where(Enrollment.offering_id == offering_id)
            .order_by(Enrollment.arrived_at, Enrollment.id)))
        told = [r.waitlist_position for r in results]
        places = [seats.waitlist_position(session, session.get(Enrollment, r.enrollment.id))
                  for r in results]
    assert order == [r.enrollment.id for r in results]
    assert told == places == [None, 1, 2, 3]


def test_migration_fills_the_counters_from_the_enrollments(app, make_offering, now):
    """Down to the revision before the counters, then up again: they are filled from the rows
    (an offering with a seat taken and two waiting, one with nobody)."""
    url = app.config["DATABASE_URL"]
    offering_id = make_offering(capacity=1).id
    empty_id = make_offering(capacity=5).id
    for n in range(3):
        with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
            enrollments.enroll(session, offering_id, person(n), now + timedelta(minutes=n))
    before = counters_and_counts(app)
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    command.downgrade(config, "64aba927f732")
    command.upgrade(config, "head")
    after = counters_and_counts(app)
    assert after == before
    stored, _counted = after[offering_id]
    assert stored[:2] == (1, 2)
    assert after[empty_id][0] == (0, 0, None)
