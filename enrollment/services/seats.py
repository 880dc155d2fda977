"""Seats and the waiting list: the one seat decision for a new enrollment, the status moves
that keep the offering's counters right, and the waiting list in arrival order.

Two ways to hold an offering, both ending with the transaction:

* **A new enrollment** (the form, staff adding a person, a move) gets its seat from
  :func:`take_turn`: one conditional ``UPDATE … RETURNING`` on the offering's row that takes a
  seat while one is free and nobody waits, else a place at the end of the waiting list, and
  stamps the arrival strictly after the one before. The statement reads only the row it
  updates; PostgreSQL re-reads that row after waiting for its lock, so every figure in it is
  the committed one. Everything else (the person, the enrollment row, the link) is written
  before it, so the row lock is held from this statement to the commit and no longer.
* **A status move by staff or the participant** (cancel, approve, reject, promote, a capacity
  change, an offer accepted or run out) locks the row first (:func:`lock_offering`) and goes
  through :func:`change_status`, the one place that moves the counters ``seats_taken`` and
  ``waitlist_length``.

A freed seat goes to the first on the waiting list (:func:`promote_waiting`): at once, or, when
the offering gives ``offer_hours`` to accept, as an *offer* (status ``OFFERED``, held until
``offer_expires_at``). An offered seat counts as taken, so nobody else gets it; accepted it is
confirmed, declined or run out (``enrollment.services.offers``) it goes to the next in arrival
order.

On SQLite a write session holds the database's write lock from its first statement, so both
are serialised anyway. Two requests of one person for one offering are serialised by a
transaction lock on the person (:func:`hold_person`, PostgreSQL), taken before the offering's,
so the check for a duplicate enrollment needs no offering lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core.db import UTCDateTime, utcnow
from core.events import publish
from enrollment import events
from enrollment.errors import (
    CourseFull,
    EnrollmentClosed,
    InvalidTransition,
    NotOpenYet,
    OfferingCancelled,
)
from enrollment.models import (
    ACTIVE_STATUSES,
    SEATED_STATUSES,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    EnrollmentWindow,
    OfferingStatus,
    Participant,
)
from enrollment.services.links import issue_link

S = EnrollmentStatus
O = CourseOffering  # noqa: E741 (the table the statements below are about)

# The only moves an enrollment's status may make.
TRANSITIONS: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.WAITLISTED, S.REJECTED, S.CANCELLED}),
    S.WAITLISTED: frozenset({S.CONFIRMED, S.OFFERED, S.CANCELLED, S.REJECTED}),
    # Accepted; declined (or cancelled by staff, or the course); not accepted in time.
    S.OFFERED: frozenset({S.CONFIRMED, S.CANCELLED, S.OFFER_EXPIRED}),
    S.CONFIRMED: frozenset({S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.OFFER_EXPIRED: frozenset(),
}


def lock_offering(session: Session, offering_id: int) -> CourseOffering | None:
    """Load the offering holding its row lock until the transaction ends.

    The columns are read again under the lock (``SELECT … FOR UPDATE``), so the seat count is
    the committed one; relationships already loaded (sessions, county, kind, as the course page
    and the e-mails use them) are kept, so nothing is lazy-loaded while the lock is held.
    """
    offering = session.get(CourseOffering, offering_id)
    if offering is None:
        return None
    try:
        session.refresh(offering, _OFFERING_COLUMNS, with_for_update=True)
    except sa.exc.InvalidRequestError:  # deleted meanwhile
        return None
    return offering


_OFFERING_COLUMNS = [column.key for column in sa.inspect(CourseOffering).column_attrs]


def change_status(
    enrollment: Enrollment, target: EnrollmentStatus, offering: CourseOffering, reason: str = ""
) -> EnrollmentStatus:
    """Move ``enrollment`` to ``target`` if the table allows it, keeping the offering's seat
    and waiting-list counters right. The caller holds the offering's lock. Returns the
    previous status."""
    current = enrollment.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)
    seat = (target in SEATED_STATUSES) - (current in SEATED_STATUSES)  # an offer holds one
    if seat > 0 and offering.seats_taken >= offering.capacity:
        raise CourseFull(current)
    offering.seats_taken += seat
    waiting = (target == S.WAITLISTED) - (current == S.WAITLISTED)
    if waiting:
        offering.waitlist_length = (offering.waitlist_length or 0) + waiting
    enrollment.status = target
    if reason:
        enrollment.status_reason = reason
    return current


@dataclass(frozen=True)
class Turn:
    """What :func:`take_turn` decided for a new enrollment."""

    status: EnrollmentStatus
    position: int | None  # its place on the waiting list, or None
    arrived_at: datetime


def _next_arrival(dialect: str, now: datetime) -> sa.ColumnElement:
    """The arrival stamped by a decision: ``now``, but never before the latest arrival. On
    PostgreSQL strictly after it (by a microsecond), since the enrollment's id was drawn before
    the lock and cannot break a tie; on SQLite the whole write transaction holds the lock, so
    ids follow the decisions and break ties."""
    moment = sa.literal(now, UTCDateTime)
    if dialect == "postgresql":
        later = O.last_arrival_at + sa.literal(timedelta(microseconds=1), sa.Interval)
        return sa.func.greatest(moment, later, type_=UTCDateTime)
    return sa.func.max(moment, sa.func.coalesce(O.last_arrival_at, moment), type_=UTCDateTime)


def take_turn(session: Session, enrollment: Enrollment, now: datetime, *,
              public: bool) -> Turn:
    """Decide the place of a new (pending, flushed) enrollment in one statement on its
    offering's row, and give it that status and its arrival.

    Confirmed while a seat is free and nobody waits; pending when the person enrolls themselves
    (``public``) in an offering that requires approval; else last on the waiting list. The
    statement takes the offering's row lock, held until the commit: call it last. A public
    enrollment needs the offering open (the one rule, ``CourseOffering.open_for_enrollment``,
    checked on the row as it is under the lock); staff may add a person to any offering that is
    not cancelled. Raises ``OfferingCancelled`` (or the refusal of the window) otherwise.
    """
    asks_approval = O.requires_approval if public else sa.false()
    free = sa.and_(O.seats_taken < O.capacity, O.waitlist_length == 0)
    seat = sa.and_(sa.not_(asks_approval), free)
    wait = sa.and_(sa.not_(asks_approval), sa.not_(free))
    allowed = O.open_for_enrollment(now) if public else O.status != OfferingStatus.CANCELLED
    decided = session.execute(
        sa.update(O).where(O.id == enrollment.offering_id, allowed)
        .values(seats_taken=O.seats_taken + sa.case((seat, 1), else_=0),
                waitlist_length=O.waitlist_length + sa.case((wait, 1), else_=0),
                last_arrival_at=_next_arrival(session.get_bind().dialect.name, now))
        .returning(O.requires_approval, O.seats_taken, O.waitlist_length, O.last_arrival_at),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    if decided is None:
        raise _refusal(session, enrollment.offering_id, now, public)
    offering = session.get(CourseOffering, enrollment.offering_id)
    for name in ("seats_taken", "waitlist_length", "last_arrival_at"):
        set_committed_value(offering, name, getattr(decided, name))
    if public and decided.requires_approval:
        turn = Turn(S.PENDING, None, decided.last_arrival_at)
    elif decided.waitlist_length == 0:  # it waited for nobody, so it has a seat
        turn = Turn(S.CONFIRMED, None, decided.last_arrival_at)
    else:
        turn = Turn(S.WAITLISTED, decided.waitlist_length, decided.last_arrival_at)
    if turn.status != enrollment.status and turn.status not in TRANSITIONS[enrollment.status]:
        raise InvalidTransition(enrollment.status, turn.status)
    enrollment.status, enrollment.arrived_at = turn.status, turn.arrived_at
    return turn


def check_open(offering: CourseOffering, now: datetime) -> None:
    """Raise unless the offering takes enrollments at ``now`` (the one rule of
    ``CourseOffering.enrollment_window``, which the course page and the catalog show)."""
    refusal = {EnrollmentWindow.NOT_PUBLISHED: OfferingCancelled, EnrollmentWindow.CLOSED:
               EnrollmentClosed, EnrollmentWindow.NOT_YET: NotOpenYet}.get(
                   offering.enrollment_window(now))
    if refusal is not None:
        raise refusal()


def _refusal(session: Session, offering_id: int, now: datetime, public: bool) -> Exception:
    """Why ``take_turn`` found no offering to enroll in, read after the fact."""
    offering = session.get(CourseOffering, offering_id, populate_existing=True)
    if offering is not None and public:
        try:
            check_open(offering, now)
        except (NotOpenYet, EnrollmentClosed) as refusal:
            return refusal
    return OfferingCancelled()


# --- one person, one active enrollment per offering -----------------------------------------


def _lock_key(offering_id: int, what: str, value: str) -> int:
    digest = hashlib.sha256(f"enrollment:{offering_id}:{what}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_person(session: Session, offering_id: int, email: str, hpr: str | None) -> None:
    """Serialise, until the commit, whatever enrolls this person (by e-mail or HPR number) in
    this offering, so that the duplicate check after it sees any enrollment of theirs made
    meanwhile. PostgreSQL transaction locks, in one order, taken before the offering's row
    lock; SQLite's write lock serialises writers already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(offering_id, "email", email.strip().lower()),
                   *([_lock_key(offering_id, "hpr", hpr)] if hpr else [])})
    session.execute(sa.select(*(sa.func.pg_advisory_xact_lock(key) for key in keys)))


def find_active_duplicate(
    session: Session, offering_id: int, email: str, hpr: str | None
) -> Enrollment | None:
    """An active enrollment in the offering of the same person (e-mail or HPR number)."""
    same_person = Participant.email == email
    if hpr:
        same_person = sa.or_(same_person, Participant.hpr_number == hpr)
    return session.scalar(
        sa.select(Enrollment)
        .join(Enrollment.participant)
        .where(
            Enrollment.offering_id == offering_id,
            Enrollment.status.in_(ACTIVE_STATUSES),
            same_person,
        )
        .options(joinedload(Enrollment.participant))
        .limit(1)
    )


# --- the waiting list ------------------------------------------------------------------------


def waitlist(session: Session, offering_id: int) -> list[Enrollment]:
    """The waiting list of an offering, first in line first."""
    return list(
        session.scalars(
            sa.select(Enrollment)
            .where(Enrollment.offering_id == offering_id, Enrollment.status == S.WAITLISTED)
            .order_by(Enrollment.arrived_at, Enrollment.id)
            .options(joinedload(Enrollment.participant))
        )
    )


def waitlist_position(session: Session, enrollment: Enrollment) -> int | None:
    """1-based place on the waiting list, or None when not waitlisted."""
    if enrollment.status != S.WAITLISTED:
        return None
    ahead = session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.offering_id == enrollment.offering_id,
            Enrollment.status == S.WAITLISTED,
            sa.or_(
                Enrollment.arrived_at < enrollment.arrived_at,
                sa.and_(
                    Enrollment.arrived_at == enrollment.arrived_at, Enrollment.id < enrollment.id
                ),
            ),
        )
    )
    return (ahead or 0) + 1


def promote_waiting(session: Session, offering: CourseOffering,
                    now: datetime | None = None) -> list[Enrollment]:
    """Fill free seats from the waiting list in arrival order; returns those promoted. With
    ``offer_hours`` set on the offering each is offered the seat until ``now`` plus those
    hours (and it counts as taken meanwhile), else confirmed at once.

    The caller holds the offering's lock.
    """
    promoted = []
    if offering.seats_left <= 0:
        return promoted
    target = S.OFFERED if offering.offer_hours else S.CONFIRMED
    for enrollment in waitlist(session, offering.id)[: offering.seats_left]:
        change_status(enrollment, target, offering)
        if target == S.OFFERED:
            enrollment.offer_expires_at = ((now or utcnow())
                                           + timedelta(hours=offering.offer_hours))
        promoted.append(enrollment)
    session.flush()
    return promoted


def announce_promoted(session: Session, promoted: list[Enrollment]) -> None:
    """Publish ``promoted`` for each enrollment ``promote_waiting`` gave a seat, or ``offered``
    (with a fresh manage link to accept it from) for each it offered one, after the event of
    the change that freed it, so the mails go out in that order."""
    for enrollment in promoted:
        if enrollment.status == S.OFFERED:
            publish(events.offered, session, enrollment=enrollment,
                    token=issue_link(session, enrollment))
        else:
            publish(events.promoted, session, enrollment=enrollment)
