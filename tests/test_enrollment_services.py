"""Enrollment services: status moves, seats, waiting list, cancellation, manage tokens, races.

Every test but the status table runs on SQLite and on PostgreSQL. Results are read back from a
fresh session after commit, so they show what the database holds, not what a session remembers.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.db import make_engine, new_session, session_scope
from enrollment import errors
from enrollment.errors import InvalidTransition
from enrollment.models import (
    SEATED_STATUSES,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
)
from enrollment.services import enrollments, links, seats
from enrollment.services.enrollments import PersonDetails
from enrollment.services.seats import TRANSITIONS

S = EnrollmentStatus


# --- helpers -------------------------------------------------------------------------------


def person(n: int, **overrides) -> PersonDetails:
    """The form details of participant number ``n``; distinct e-mail and HPR number per ``n``."""
    values = dict(
        full_name=f"Deltakar {n}", email=f"deltakar{n}@example.no", phone="+47 400 00 000",
        role=Role.LIS1, hpr_number=str(1_000_000 + n), employer="Bergen kommune", locale="nn",
    )
    values.update(overrides)
    return PersonDetails(**values)


def engine_of(app) -> Engine:
    return app.extensions["kp_engine"]


def is_sqlite(app) -> bool:
    return app.config["DATABASE_URL"].startswith("sqlite")


@contextmanager
def reading(app) -> Iterator[Session]:
    """A read-only session that sees what is committed now."""
    session = new_session(engine_of(app), write=False)
    try:
        yield session
    finally:
        session.close()


def enroll(app, offering_id: int, n: int, when: datetime, **overrides) -> enrollments.EnrollResult:
    """Enroll participant ``n`` and commit, as the enrollment view does."""
    with app.app_context(), session_scope(engine_of(app)) as session:
        return enrollments.enroll(session, offering_id, person(n, **overrides), when)


def duplicate_of(app, offering_id: int, n: int, when: datetime, **overrides) -> int:
    """Try to enroll participant ``n``, expecting AlreadyEnrolled; the id of the one it names."""
    with app.app_context(), new_session(engine_of(app)) as session:
        with pytest.raises(errors.AlreadyEnrolled) as info:
            enrollments.enroll(session, offering_id, person(n, **overrides), when)
        existing_id = info.value.existing.id
        session.rollback()
    return existing_id


def cancel(app, enrollment_id: int, when: datetime, **kwargs) -> list[int]:
    """Cancel an enrollment and commit; returns the ids of those promoted."""
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        return [e.id for e in enrollments.cancel(session, enrollment, when, **kwargs)]


def statuses(app, offering_id: int) -> dict[int, EnrollmentStatus]:
    """Committed status of every enrollment of an offering, by enrollment id."""
    with reading(app) as session:
        rows = session.execute(
            sa.select(Enrollment.id, Enrollment.status).where(
                Enrollment.offering_id == offering_id
            )
        )
        return dict(rows.all())


def seats_taken(app, offering_id: int) -> int:
    with reading(app) as session:
        return session.get(CourseOffering, offering_id).seats_taken


def queue(app, offering_id: int) -> list[tuple[int, int]]:
    """The committed waiting list as (enrollment id, position), first in line first."""
    with reading(app) as session:
        return [(e.id, seats.waitlist_position(session, e))
                for e in seats.waitlist(session, offering_id)]


# --- the table of status moves (no database needed) ----------------------------------------

ALL_PAIRS = list(itertools.product(S, S))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


def test_transition_table_names_every_status():
    assert set(TRANSITIONS) == set(S)
    # Sanity of the parametrisation below: every ordered pair is either allowed or refused.
    assert len(ALLOWED) + len(REFUSED) == len(S) ** 2
    assert len(ALLOWED) == 12


def seated(status: EnrollmentStatus) -> CourseOffering:
    """An offering of 3 seats where one other person holds a seat, plus ``status`` if seated."""
    return CourseOffering(capacity=3, seats_taken=2 if status in SEATED_STATUSES else 1)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_moves_status_and_keeps_seat_count(current, target):
    offering = seated(current)
    enrollment = Enrollment(status=current)
    before = offering.seats_taken

    previous = seats.change_status(enrollment, target, offering, reason="staff decision")

    assert previous == current
    assert enrollment.status == target
    assert enrollment.status_reason == "staff decision"
    expected = before + (target in SEATED_STATUSES) - (current in SEATED_STATUSES)
    assert offering.seats_taken == expected
    # The counter still equals the seats held: the other person plus this one if confirmed
    # (or offered: an offered seat is held for the person).
    assert offering.seats_taken == 1 + (target in SEATED_STATUSES)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_transition_not_in_table_is_refused_and_changes_nothing(current, target):
    offering = seated(current)
    enrollment = Enrollment(status=current, status_reason="")
    before = offering.seats_taken

    with pytest.raises(InvalidTransition) as info:
        seats.change_status(enrollment, target, offering, reason="should not stick")

    assert (info.value.current, info.value.target) == (current, target)
    assert enrollment.status == current
    assert enrollment.status_reason == ""
    assert offering.seats_taken == before


@pytest.mark.parametrize("current", [S.PENDING, S.WAITLISTED])
def test_confirming_is_refused_when_every_seat_is_taken(current):
    offering = CourseOffering(capacity=2, seats_taken=2)
    enrollment = Enrollment(status=current)

    with pytest.raises(InvalidTransition):
        seats.change_status(enrollment, S.CONFIRMED, offering)

    assert enrollment.status == current
    assert offering.seats_taken == 2


# --- enroll ----------------------------------------------------------------------------------


def test_enroll_confirms_while_seats_left_then_waitlists_in_arrival_order(
    app, make_offering, now
):
    offering = make_offering(capacity=2)

    results = [enroll(app, offering.id, n, now + timedelta(seconds=n)) for n in range(5)]

    assert [r.enrollment.status for r in results] == [S.CONFIRMED] * 2 + [S.WAITLISTED] * 3
    assert [r.waitlist_position for r in results] == [None, None, 1, 2, 3]
    ids = [r.enrollment.id for r in results]
    assert statuses(app, offering.id) == {
        ids[0]: S.CONFIRMED, ids[1]: S.CONFIRMED,
        ids[2]: S.WAITLISTED, ids[3]: S.WAITLISTED, ids[4]: S.WAITLISTED,
    }
    assert seats_taken(app, offering.id) == 2
    assert queue(app, offering.id) == [(ids[2], 1), (ids[3], 2), (ids[4], 3)]


def test_enroll_stores_participant_with_normalised_email(app, make_offering, now):
    offering = make_offering()

    result = enroll(app, offering.id, 1, now, email="  Kari.Nordmann@Example.NO ")

    with reading(app) as session:
        participant = session.get(Enrollment, result.enrollment.id).participant
        assert participant.email == "kari.nordmann@example.no"
        assert participant.hpr_number == "1000001"
        assert participant.role == Role.LIS1


def test_enroll_with_approval_required_leaves_pending_without_taking_a_seat(
    app, make_offering, now
):
    offering = make_offering(capacity=1, requires_approval=True)

    first = enroll(app, offering.id, 1, now)
    second = enroll(app, offering.id, 2, now + timedelta(seconds=1))

    assert (first.enrollment.status, first.waitlist_position) == (S.PENDING, None)
    assert (second.enrollment.status, second.waitlist_position) == (S.PENDING, None)
    assert statuses(app, offering.id) == {
        first.enrollment.id: S.PENDING, second.enrollment.id: S.PENDING,
    }
    assert seats_taken(app, offering.id) == 0

    # Staff approve the first: that takes the only seat; the second cannot be confirmed too.
    with app.app_context(), session_scope(engine_of(app)) as session:
        locked = seats.lock_offering(session, offering.id)
        seats.change_status(session.get(Enrollment, first.enrollment.id), S.CONFIRMED, locked)
        with pytest.raises(InvalidTransition):
            seats.change_status(
                session.get(Enrollment, second.enrollment.id), S.CONFIRMED, locked
            )
        seats.change_status(session.get(Enrollment, second.enrollment.id), S.WAITLISTED,
                                  locked)

    assert statuses(app, offering.id) == {
        first.enrollment.id: S.CONFIRMED, second.enrollment.id: S.WAITLISTED,
    }
    assert seats_taken(app, offering.id) == 1


def test_supervisor_is_not_eligible_for_emergency_medicine(app, make_offering, now):
    offering = make_offering(kind="emergency_medicine")

    with pytest.raises(errors.NotEligible):
        enroll(app, offering.id, 1, now, role=Role.SUPERVISOR)

    assert statuses(app, offering.id) == {}
    with reading(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    # A LIS1 doctor may enroll in the same offering.
    assert enroll(app, offering.id, 2, now).enrollment.status == S.CONFIRMED


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("enroll_opens_at", timedelta(hours=1), errors.NotOpenYet),
        ("enroll_closes_at", timedelta(seconds=-1), errors.EnrollmentClosed),
        ("status", OfferingStatus.CANCELLED, errors.OfferingCancelled),
        ("status", OfferingStatus.DRAFT, errors.OfferingCancelled),
    ],
    ids=["not-open-yet", "closed", "cancelled", "draft"],
)
def test_enroll_refused_when_offering_does_not_take_enrollments(
    app, make_offering, now, field, value, error
):
    offering = make_offering(**{field: now + value if isinstance(value, timedelta) else value})

    with pytest.raises(error):
        enroll(app, offering.id, 1, now)

    assert statuses(app, offering.id) == {}
    assert seats_taken(app, offering.id) == 0


def test_enrollment_window_opens_at_its_first_instant_and_closes_at_its_last(
    app, make_offering
):
    offering = make_offering()

    assert enroll(app, offering.id, 1, offering.enroll_opens_at).enrollment.status == S.CONFIRMED
    with pytest.raises(errors.NotOpenYet):
        enroll(app, offering.id, 2, offering.enroll_opens_at - timedelta(microseconds=1))
    with pytest.raises(errors.EnrollmentClosed):
        enroll(app, offering.id, 3, offering.enroll_closes_at)


def test_enroll_in_unknown_offering_is_refused(app, now):
    with pytest.raises(errors.OfferingCancelled):
        enroll(app, 999_999, 1, now)


def test_same_email_in_other_case_is_already_enrolled(app, make_offering, now):
    offering = make_offering()
    first = enroll(app, offering.id, 1, now, email="kari.nordmann@example.no")

    existing = duplicate_of(app, offering.id, 2, now, email="  KARI.Nordmann@Example.NO ")

    assert existing == first.enrollment.id
    assert list(statuses(app, offering.id)) == [first.enrollment.id]
    assert seats_taken(app, offering.id) == 1


def test_same_hpr_number_with_another_email_is_already_enrolled(app, make_offering, now):
    offering = make_offering()
    first = enroll(app, offering.id, 1, now, hpr_number="9876543")

    existing = duplicate_of(
        app, offering.id, 2, now, email="privat@example.com", hpr_number="9876543"
    )

    assert existing == first.enrollment.id
    assert list(statuses(app, offering.id)) == [first.enrollment.id]


def test_waitlisted_enrollment_also_counts_as_already_enrolled(app, make_offering, now):
    offering = make_offering(capacity=1)
    enroll(app, offering.id, 1, now)
    waiting = enroll(app, offering.id, 2, now)

    assert duplicate_of(app, offering.id, 2, now) == waiting.enrollment.id
    assert len(statuses(app, offering.id)) == 2


def test_same_person_may_enroll_again_after_cancelling(app, make_offering, now):
    offering = make_offering()
    first = enroll(app, offering.id, 1, now)
    cancel(app, first.enrollment.id, now)

    again = enroll(app, offering.id, 1, now + timedelta(minutes=1), email="DELTAKAR1@example.no")

    assert again.enrollment.id != first.enrollment.id
    assert statuses(app, offering.id) == {
        first.enrollment.id: S.CANCELLED, again.enrollment.id: S.CONFIRMED,
    }
    assert seats_taken(app, offering.id) == 1


def test_same_person_may_enroll_in_two_offerings(app, make_offering, now):
    one, two = make_offering(), make_offering()

    assert enroll(app, one.id, 1, now).enrollment.status == S.CONFIRMED
    assert enroll(app, two.id, 1, now).enrollment.status == S.CONFIRMED


# --- cancel ------------------------------------------------------------------------------------


@pytest.fixture
def full_with_queue(app, make_offering, now) -> tuple[int, list[int]]:
    """An offering of 2 seats with 2 confirmed and 3 on the waiting list; (id, enrollment ids)."""
    offering = make_offering(capacity=2)
    ids = [enroll(app, offering.id, n, now + timedelta(seconds=n)).enrollment.id
           for n in range(5)]
    return offering.id, ids


def test_cancelling_confirmed_promotes_first_on_waiting_list(app, full_with_queue, now):
    offering_id, (a, b, c, d, e) = full_with_queue

    promoted = cancel(app, a, now + timedelta(minutes=1), reason="sjuk")

    assert promoted == [c]
    assert statuses(app, offering_id) == {
        a: S.CANCELLED, b: S.CONFIRMED, c: S.CONFIRMED, d: S.WAITLISTED, e: S.WAITLISTED,
    }
    assert seats_taken(app, offering_id) == 2
    assert queue(app, offering_id) == [(d, 1), (e, 2)]
    with reading(app) as session:
        assert session.get(Enrollment, a).status_reason == "sjuk"


def test_cancellation_and_promotion_are_one_transaction(app, full_with_queue, now):
    offering_id, (a, b, c, d, e) = full_with_queue

    with app.app_context(), new_session(engine_of(app)) as session:
        promoted = enrollments.cancel(session, session.get(Enrollment, a), now)
        assert [p.id for p in promoted] == [c]
        session.rollback()

    # Nothing of it happened: the promotion went with the cancellation.
    assert statuses(app, offering_id) == {
        a: S.CONFIRMED, b: S.CONFIRMED, c: S.WAITLISTED, d: S.WAITLISTED, e: S.WAITLISTED,
    }
    assert seats_taken(app, offering_id) == 2


def test_successive_cancellations_promote_in_waiting_list_order(app, full_with_queue, now):
    offering_id, (a, b, c, d, e) = full_with_queue

    assert cancel(app, b, now) == [c]
    assert cancel(app, a, now) == [d]
    assert cancel(app, c, now) == [e]
    assert cancel(app, d, now) == []

    assert statuses(app, offering_id) == {
        a: S.CANCELLED, b: S.CANCELLED, c: S.CANCELLED, d: S.CANCELLED, e: S.CONFIRMED,
    }
    assert seats_taken(app, offering_id) == 1
    assert queue(app, offering_id) == []


def test_cancelling_waitlisted_promotes_nobody_and_moves_the_rest_up(app, full_with_queue, now):
    offering_id, (a, b, c, d, e) = full_with_queue

    assert cancel(app, c, now) == []

    assert statuses(app, offering_id) == {
        a: S.CONFIRMED, b: S.CONFIRMED, c: S.CANCELLED, d: S.WAITLISTED, e: S.WAITLISTED,
    }
    assert seats_taken(app, offering_id) == 2
    assert queue(app, offering_id) == [(d, 1), (e, 2)]


def test_cancelled_enrollment_cannot_be_cancelled_again(app, full_with_queue, now):
    offering_id, (a, b, c, _d, _e) = full_with_queue
    cancel(app, a, now)

    with pytest.raises(InvalidTransition):
        cancel(app, a, now)
    with pytest.raises(InvalidTransition):
        cancel(app, a, now, by_staff=True)

    # The failed second cancellation did not free or promote anything.
    assert statuses(app, offering_id)[a] == S.CANCELLED
    assert statuses(app, offering_id)[c] == S.CONFIRMED
    assert seats_taken(app, offering_id) == 2


def test_participant_cannot_cancel_after_deadline_but_staff_can(app, full_with_queue, now):
    offering_id, (a, _b, c, _d, _e) = full_with_queue
    after = now + timedelta(days=30, seconds=1)  # make_offering's deadline is now + 30 days

    with pytest.raises(errors.CancelDeadlinePassed):
        cancel(app, a, after)
    assert statuses(app, offering_id)[a] == S.CONFIRMED

    assert cancel(app, a, after, by_staff=True) == [c]
    assert statuses(app, offering_id)[a] == S.CANCELLED
    assert statuses(app, offering_id)[c] == S.CONFIRMED
    assert seats_taken(app, offering_id) == 2


def test_without_cancel_deadline_the_first_session_start_is_the_deadline(
    app, make_offering, now
):
    offering = make_offering(cancel_deadline=None)
    with reading(app) as session:
        first_start = session.get(CourseOffering, offering.id).sessions[0].starts_at
    early = enroll(app, offering.id, 1, now).enrollment.id
    late = enroll(app, offering.id, 2, now).enrollment.id

    cancel(app, early, first_start - timedelta(seconds=1))
    with pytest.raises(errors.CancelDeadlinePassed):
        cancel(app, late, first_start)

    assert statuses(app, offering.id) == {early: S.CANCELLED, late: S.CONFIRMED}


# --- manage tokens -----------------------------------------------------------------------------


def test_manage_token_finds_enrollment_and_is_stored_only_as_sha256(app, make_offering, now):
    offering = make_offering()
    result = enroll(app, offering.id, 1, now)
    token = result.token

    assert len(token) >= 43  # 256 bits, URL-safe base64
    with reading(app) as session:
        found = links.find_by_token(session, token)
        assert found.id == result.enrollment.id
        assert found.participant.email == "deltakar1@example.no"
        row = session.execute(
            sa.select(Enrollment.__table__).where(Enrollment.id == result.enrollment.id)
        ).one()
        [link] = session.execute(sa.select(ManageLink.__table__).where(
            ManageLink.enrollment_id == result.enrollment.id)).all()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.withdrawn_at is None
    assert not any(token in str(value) for value in (*row, *link))


@pytest.mark.parametrize(
    "make_wrong",
    [
        lambda token: "",
        lambda token: "not-a-token",
        lambda token: token[:-1],
        lambda token: token + "A",
        lambda token: token.upper() if token.upper() != token else token.lower(),
        lambda token: hashlib.sha256(token.encode()).hexdigest(),  # the stored hash itself
        lambda token: token + " " * 80,
        lambda token: "x" * 101,
        lambda token: "x" * 10_000,
    ],
    ids=["empty", "other", "shorter", "longer", "case", "hash", "padded", "overlong", "huge"],
)
def test_find_by_token_returns_none_for_wrong_token(app, make_offering, now, make_wrong):
    offering = make_offering()
    token = enroll(app, offering.id, 1, now).token

    with reading(app) as session:
        assert links.find_by_token(session, make_wrong(token)) is None


def test_a_new_link_leaves_the_old_one_working(app, make_offering, now):
    offering = make_offering()
    result = enroll(app, offering.id, 1, now)

    with app.app_context(), session_scope(engine_of(app)) as session:
        new = links.issue_link(session, session.get(Enrollment, result.enrollment.id))

    assert new != result.token
    with reading(app) as session:
        assert links.find_by_token(session, result.token).id == result.enrollment.id
        assert links.find_by_token(session, new).id == result.enrollment.id
        stored = session.scalars(sa.select(ManageLink.token_hash).where(
            ManageLink.enrollment_id == result.enrollment.id).order_by(ManageLink.id)).all()
    assert stored == [links.hash_token(result.token), links.hash_token(new)]


def test_withdrawing_other_links_keeps_only_the_one_in_use(app, make_offering, now):
    offering = make_offering()
    result = enroll(app, offering.id, 1, now)
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, result.enrollment.id)
        second, third = links.issue_link(session, enrollment), links.issue_link(session, enrollment)

    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, result.enrollment.id)
        assert links.other_link_count(session, enrollment, second) == 2
        assert links.withdraw_other_links(session, enrollment, second, now) == 2

    with reading(app) as session:
        assert links.find_by_token(session, second).id == result.enrollment.id
        assert links.find_by_token(session, result.token) is None
        assert links.find_by_token(session, third) is None
        withdrawn = dict(session.execute(
            sa.select(ManageLink.token_hash, ManageLink.withdrawn_at)
            .where(ManageLink.enrollment_id == result.enrollment.id)).all())
        [event] = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "enrollment.links_withdrawn")).all()
    assert withdrawn[links.hash_token(second)] is None
    assert withdrawn[links.hash_token(result.token)] == now
    assert withdrawn[links.hash_token(third)] == now
    assert (event.object_id, event.after, event.actor_email) == (
        result.enrollment.id, {"withdrawn": 2}, "participant")


# --- the database's own guard --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("seats_taken", 11), ("seats_taken", -1), ("capacity", 4)],
    ids=["above-capacity", "negative", "capacity-below-taken"],
)
def test_database_check_refuses_seat_count_outside_capacity(
    app, make_offering, now, field, value
):
    offering = make_offering(capacity=10)
    for n in range(5):
        enroll(app, offering.id, n, now)

    with app.app_context(), new_session(engine_of(app)) as session:
        row = session.get(CourseOffering, offering.id)
        setattr(row, field, value)
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        session.rollback()

    assert seats_taken(app, offering.id) == 5


# --- concurrency -------------------------------------------------------------------------------


@contextmanager
def thread_engine(app, connections: int) -> Iterator[Engine]:
    """An engine whose pool serves ``connections`` threads at once.

    SQLite needs ``make_engine`` for its BEGIN IMMEDIATE hooks; its pool makes surplus threads
    wait for a connection, which they would wait for the write lock anyway.
    """
    url = app.config["DATABASE_URL"]
    if is_sqlite(app):
        engine = make_engine(url)
    else:
        engine = sa.create_engine(url, pool_size=connections, max_overflow=0)
        # Open every connection before the race, so the threads meet at the lock, not at connect.
        opened = [engine.connect() for _ in range(connections)]
        for conn in opened:
            conn.close()
    try:
        yield engine
    finally:
        engine.dispose()


def run_together(count: int, work: Callable[[int], object]) -> tuple[list, float]:
    """Run ``work(i)`` in ``count`` threads released at once; (results, seconds from release)."""
    started: list[float] = []
    barrier = threading.Barrier(count, action=lambda: started.append(time.perf_counter()),
                                timeout=30)
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    seconds = time.perf_counter() - started[0]
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results, seconds


def seat_figures(conn, offering_id: int) -> tuple[int, int, int]:
    """(confirmed enrollments, seats_taken, capacity) read in one statement, one snapshot."""
    confirmed = (
        sa.select(sa.func.count())
        .select_from(Enrollment)
        .where(Enrollment.offering_id == CourseOffering.id, Enrollment.status == S.CONFIRMED)
        .scalar_subquery()
    )
    row = conn.execute(
        sa.select(confirmed, CourseOffering.seats_taken, CourseOffering.capacity).where(
            CourseOffering.id == offering_id
        )
    ).one()
    return tuple(row)


def race_enrollments(app, make_offering, now, threads: int, rounds: int) -> None:
    """``rounds`` times, ``threads`` people enroll at once in a 10-seat offering."""
    dialect = "sqlite" if is_sqlite(app) else "postgresql"
    seats = 10
    with thread_engine(app, threads) as engine:
        for round_no in range(rounds):
            offering_id = make_offering(capacity=seats).id

            def work(i: int, offering_id=offering_id, round_no=round_no):
                with app.app_context(), new_session(engine, write=True) as session:
                    result = enrollments.enroll(
                        session, offering_id, person(round_no * 1000 + i), now
                    )
                    session.commit()
                    return result.enrollment.id, result.enrollment.status, result.waitlist_position

            results, seconds = run_together(threads, work)

            confirmed = [r for r in results if r[1] == S.CONFIRMED]
            waiting = [r for r in results if r[1] == S.WAITLISTED]
            print(
                f"\n[{dialect}] concurrent enroll round {round_no + 1}: requests={threads} "
                f"seats={seats} confirmed={len(confirmed)} waitlisted={len(waiting)} "
                f"seconds={seconds:.2f}"
            )
            assert len(confirmed) == seats
            assert len(waiting) == threads - seats
            # Each thread saw everyone committed before it: positions 1..N, no two alike.
            assert sorted(r[2] for r in waiting) == list(range(1, threads - seats + 1))

            stored = statuses(app, offering_id)
            assert len(stored) == threads
            assert sum(s == S.CONFIRMED for s in stored.values()) == seats
            assert sum(s == S.WAITLISTED for s in stored.values()) == threads - seats
            assert seats_taken(app, offering_id) == seats
            # The committed waiting list agrees with what each thread was told.
            assert queue(app, offering_id) == sorted(
                ((r[0], r[2]) for r in waiting), key=lambda item: item[1]
            )


def test_fifty_simultaneous_enrollments_fill_ten_seats_exactly_on_postgresql(
    app, make_offering, now
):
    if is_sqlite(app):
        pytest.skip("row locks are PostgreSQL's; the SQLite variant below has 20 threads")
    race_enrollments(app, make_offering, now, threads=50, rounds=5)


def test_twenty_simultaneous_enrollments_fill_ten_seats_exactly_on_sqlite(
    app, make_offering, now
):
    if not is_sqlite(app):
        pytest.skip("SQLite's BEGIN IMMEDIATE variant; PostgreSQL has the 50-thread test")
    race_enrollments(app, make_offering, now, threads=20, rounds=5)


@pytest.mark.parametrize("already_waiting", [0, 5])
def test_simultaneous_cancellations_and_enrollments_never_overbook(
    app, make_offering, now, already_waiting
):
    """Ten cancel their seat while ten others enroll, on an offering that is full."""
    dialect = "sqlite" if is_sqlite(app) else "postgresql"
    capacity, threads = 10, 20
    offering_id = make_offering(capacity=capacity).id
    earlier = now - timedelta(hours=1)
    initial = [enroll(app, offering_id, n, earlier + timedelta(seconds=n)).enrollment
               for n in range(capacity + already_waiting)]
    confirmed_before = [e.id for e in initial if e.status == S.CONFIRMED]
    waiting_before = [e.id for e in initial if e.status == S.WAITLISTED]
    assert (len(confirmed_before), len(waiting_before)) == (capacity, already_waiting)

    with thread_engine(app, threads + 2) as engine:
        samples: list[tuple[int, int, int]] = []
        after_commit: list[tuple[int, int, int]] = []
        stop = threading.Event()

        def sample() -> None:
            with engine.connect() as conn:
                while not stop.is_set():
                    samples.append(seat_figures(conn, offering_id))
                    conn.rollback()  # end the snapshot so the next sample sees new commits

        def work(i: int):
            with app.app_context(), new_session(engine, write=True) as session:
                if i % 2 == 0:
                    enrollment = session.get(Enrollment, confirmed_before[i // 2])
                    cancelled = enrollments.cancel(session, enrollment, now)
                    outcome = ("cancel", [e.id for e in cancelled])
                else:
                    result = enrollments.enroll(session, offering_id, person(100 + i), now)
                    outcome = ("enroll", result.enrollment.id)
                session.commit()
            with engine.connect() as conn:
                after_commit.append(seat_figures(conn, offering_id))
            return outcome

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            results, seconds = run_together(threads, work)
        finally:
            stop.set()
            sampler.join(timeout=30)

    checks = samples + after_commit
    print(
        f"\n[{dialect}] cancel+enroll race: requests={threads} seats={capacity} "
        f"already_waiting={already_waiting} "
        f"samples={len(samples)} max_confirmed={max(c[0] for c in checks)} "
        f"seconds={seconds:.2f}"
    )
    assert samples, "the sampler never ran"
    assert len(after_commit) == threads
    for confirmed, taken, cap in checks:
        assert confirmed == taken <= cap

    newcomers = [r[1] for r in results if r[0] == "enroll"]
    promoted = [i for r in results if r[0] == "cancel" for i in r[1]]
    stored = statuses(app, offering_id)
    assert all(stored[i] == S.CANCELLED for i in confirmed_before)
    # Those already waiting were ahead of every newcomer, so all of them got a seat.
    assert all(stored[i] == S.CONFIRMED for i in waiting_before)
    assert set(waiting_before) <= set(promoted)
    # Fifteen (or ten) want the ten seats: the offering ends full, the rest wait in order.
    assert sorted(stored[i] for i in newcomers) == sorted(
        [S.CONFIRMED] * (capacity - already_waiting) + [S.WAITLISTED] * already_waiting
    )
    assert seats_taken(app, offering_id) == capacity
    assert [position for _, position in queue(app, offering_id)] == list(
        range(1, already_waiting + 1)
    )


def test_simultaneous_double_submissions_enroll_the_person_once(app, make_offering, now):
    offering_id = make_offering(capacity=10).id
    threads = 10

    with thread_engine(app, threads) as engine:

        def work(i: int) -> str:
            with app.app_context(), new_session(engine, write=True) as session:
                try:
                    enrollments.enroll(session, offering_id, person(1), now)
                except errors.AlreadyEnrolled:
                    return "duplicate"
                session.commit()
                return "enrolled"

        results, _seconds = run_together(threads, work)

    assert sorted(results) == ["duplicate"] * (threads - 1) + ["enrolled"]
    assert list(statuses(app, offering_id).values()) == [S.CONFIRMED]
    assert seats_taken(app, offering_id) == 1
