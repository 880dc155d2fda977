"""Staff operations on course offerings and their sessions (the learning objectives of a kind
are in ``objectives``).

Plain functions in the shape of ``services.enrollments``: they take a session, plain values and
the acting staff member, flush and never commit, raise an ``OfferingError`` when a rule refuses,
and publish one event (``enrollment.events``, with before/after) for every change they make:
its subscribers write the audit event and record the mails it causes (cancelled course, seat
from the waiting list).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core.audit import snapshot
from core.events import publish as publish_event
from core.models import County
from enrollment import events
from enrollment.errors import (
    AttendanceBeforeStart,
    CapacityBelowTaken,
    CohortMismatch,
    HasParticipants,
    InvalidCapacity,
    InvalidOfferingTransition,
    InvalidSchedule,
    LastSession,
    NoSessions,
    SessionHasAttendance,
    UnknownReference,
)
from enrollment.models import (
    ACTIVE_STATUSES,
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
)
from enrollment.services import seats
from enrollment.services.cohorts import cohort_fits

# The only moves an offering's status may make. A cancelled offering stays cancelled: its
# participants were told and their enrollments cancelled.
OFFERING_TRANSITIONS: dict[OfferingStatus, frozenset[OfferingStatus]] = {
    OfferingStatus.DRAFT: frozenset({OfferingStatus.PUBLISHED, OfferingStatus.CANCELLED}),
    OfferingStatus.PUBLISHED: frozenset({OfferingStatus.DRAFT, OfferingStatus.CANCELLED}),
    OfferingStatus.CANCELLED: frozenset(),
}

MAX_CAPACITY = 1000
MAX_OFFER_HOURS = 14 * 24  # two weeks to accept a seat

# What an offering's audit events show of it.
OFFERING_FIELDS = [
    "county_id", "kind_id", "cohort", "title_nn", "title_nb", "title_en", "description_nn",
    "description_nb", "description_en", "venue", "capacity", "enroll_opens_at",
    "enroll_closes_at", "cancel_deadline", "requires_approval", "refund_eligible",
    "min_share_percent", "signer_name", "signer_title", "reminder_days", "meeting_url",
    "offer_hours",
]
SESSION_FIELDS = ["offering_id", "starts_at", "ends_at", "place"]


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferingValues:
    """What staff fill in for an offering; datetimes are aware (stored as UTC)."""

    county_id: int
    kind_id: int
    cohort: date | None
    capacity: int
    enroll_opens_at: datetime
    enroll_closes_at: datetime
    cancel_deadline: datetime | None = None
    title_nn: str = ""
    title_nb: str = ""
    title_en: str = ""
    description_nn: str = ""
    description_nb: str = ""
    description_en: str = ""
    venue: str = ""
    requires_approval: bool = False
    refund_eligible: bool = True
    min_share_percent: int = 75
    signer_name: str = ""
    signer_title: str = ""
    reminder_days: int = 7
    meeting_url: str = ""
    offer_hours: int | None = None  # None: a freed seat is given at once


# --- helpers ----------------------------------------------------------------------------------


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose value changed, from both sides."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _lock(session: Session, offering: CourseOffering) -> CourseOffering:
    locked = seats.lock_offering(session, offering.id)
    if locked is None:
        raise UnknownReference("the offering no longer exists")
    return locked


def _check_values(session: Session, values: OfferingValues) -> None:
    if values.enroll_closes_at <= values.enroll_opens_at:
        raise InvalidSchedule("enrollment closes before it opens")
    if not 0 <= values.capacity <= MAX_CAPACITY:
        raise InvalidCapacity(f"capacity {values.capacity} is out of range")
    kind = session.get(CourseKind, values.kind_id)
    if kind is None:
        raise UnknownReference(f"no course kind {values.kind_id}")
    if not cohort_fits(kind, values.cohort):
        raise CohortMismatch(f"cohort {values.cohort} does not fit kind {kind.code}")
    if session.get(County, values.county_id) is None:
        raise UnknownReference(f"no county {values.county_id}")


def _apply_capacity(session: Session, offering: CourseOffering, capacity: int) -> list[Enrollment]:
    """Set the capacity of a locked offering and fill new seats from the waiting list."""
    if not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidCapacity(f"capacity {capacity} is out of range")
    if capacity < offering.seats_taken:
        raise CapacityBelowTaken(capacity, offering.seats_taken)
    offering.capacity = capacity
    session.flush()
    return seats.promote_waiting(session, offering)


def _move(offering: CourseOffering, target: OfferingStatus) -> OfferingStatus:
    current = offering.status
    if target not in OFFERING_TRANSITIONS[current]:
        raise InvalidOfferingTransition(current, target)
    offering.status = target
    return current


def active_count(session: Session, offering_id: int) -> int:
    """How many people are enrolled (confirmed, pending or waiting) in the offering."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(Enrollment)
        .where(Enrollment.offering_id == offering_id, Enrollment.status.in_(ACTIVE_STATUSES)))


def _active_enrollments(session: Session, offering_id: int) -> list[Enrollment]:
    return list(session.scalars(
        sa.select(Enrollment)
        .where(Enrollment.offering_id == offering_id, Enrollment.status.in_(ACTIVE_STATUSES))
        .options(joinedload(Enrollment.participant))
        .order_by(Enrollment.arrived_at, Enrollment.id)
    ))


# --- offerings --------------------------------------------------------------------------------


def create_offering(session: Session, values: OfferingValues, actor) -> CourseOffering:
    """Add a draft offering; it is invisible to the public until published."""
    _check_values(session, values)
    offering = CourseOffering(**asdict(values), status=OfferingStatus.DRAFT, seats_taken=0)
    session.add(offering)
    session.flush()
    publish_event(events.offering_created, session, offering=offering, before=None,
            after=snapshot(offering, [*OFFERING_FIELDS, "status"]), actor=actor)
    return offering


def update_offering(
    session: Session, offering: CourseOffering, values: OfferingValues, actor
) -> list[Enrollment]:
    """Change an offering's details. A raised capacity takes people from the waiting list at
    once (they are e-mailed); returns those promoted. Writes no event when nothing changed."""
    _check_values(session, values)
    offering = _lock(session, offering)
    before = snapshot(offering, [*OFFERING_FIELDS, "seats_taken"])
    for name, value in asdict(values).items():
        if name != "capacity":
            setattr(offering, name, value)
    promoted = _apply_capacity(session, offering, values.capacity)
    old, new = _changes(before, snapshot(offering, [*OFFERING_FIELDS, "seats_taken"]))
    if promoted:
        new["promoted_enrollments"] = [e.id for e in promoted]
    if new:
        publish_event(events.offering_updated, session, offering=offering, before=old, after=new,
                promoted=promoted, actor=actor)
    seats.announce_promoted(session, promoted)
    return promoted


def set_capacity(
    session: Session, offering: CourseOffering, capacity: int, actor
) -> list[Enrollment]:
    """Change the number of seats. Raising it promotes from the waiting list in arrival order
    and e-mails those promoted; lowering it below the seats taken raises
    ``CapacityBelowTaken``. Returns those promoted."""
    offering = _lock(session, offering)
    before = {"capacity": offering.capacity, "seats_taken": offering.seats_taken}
    if capacity == offering.capacity:
        return []
    promoted = _apply_capacity(session, offering, capacity)
    after = {"capacity": offering.capacity, "seats_taken": offering.seats_taken,
             "promoted_enrollments": [e.id for e in promoted]}
    publish_event(events.capacity_changed, session, offering=offering, before=before, after=after,
            promoted=promoted, actor=actor)
    seats.announce_promoted(session, promoted)
    return promoted


def publish(session: Session, offering: CourseOffering, actor) -> None:
    """Make a draft offering visible in the catalog; it needs at least one session."""
    offering = _lock(session, offering)
    if offering.status == OfferingStatus.DRAFT and not offering.sessions:
        raise NoSessions()
    previous = _move(offering, OfferingStatus.PUBLISHED)
    session.flush()
    publish_event(events.offering_published, session, offering=offering,
            before={"status": previous}, after={"status": offering.status}, actor=actor)


def unpublish(session: Session, offering: CourseOffering, actor) -> None:
    """Take a published offering back to draft. Refused while anyone is enrolled: their links
    and course page would vanish without a word, so such a course is cancelled instead."""
    offering = _lock(session, offering)
    if offering.status == OfferingStatus.PUBLISHED and active_count(session, offering.id):
        raise HasParticipants()
    previous = _move(offering, OfferingStatus.DRAFT)
    session.flush()
    publish_event(events.offering_unpublished, session, offering=offering,
            before={"status": previous}, after={"status": offering.status}, actor=actor)


def cancel_offering(
    session: Session, offering: CourseOffering, actor, reason: str = ""
) -> list[Enrollment]:
    """Cancel the offering and every active enrollment in it; each participant is e-mailed in
    their own language (``offering_cancelled``). Returns the enrollments cancelled."""
    offering = _lock(session, offering)
    active = _active_enrollments(session, offering.id)
    before = {"status": offering.status, "seats_taken": offering.seats_taken,
              "active_enrollments": [e.id for e in active]}
    _move(offering, OfferingStatus.CANCELLED)
    for enrollment in active:
        seats.change_status(enrollment, EnrollmentStatus.CANCELLED, offering, reason)
    session.flush()
    after = {"status": offering.status, "seats_taken": offering.seats_taken, "reason": reason,
             "cancelled_enrollments": [e.id for e in active]}
    publish_event(events.offering_cancelled, session, offering=offering, cancelled=active,
            reason=reason, before=before, after=after, actor=actor)
    return active


# --- sessions ---------------------------------------------------------------------------------


def _check_period(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidSchedule("the session ends before it starts")


def add_session(
    session: Session, offering: CourseOffering, starts_at: datetime, ends_at: datetime,
    place: str, actor,
) -> CourseSession:
    """Add a course day or guidance meeting to an offering."""
    _check_period(starts_at, ends_at)
    course_session = CourseSession(offering=offering, starts_at=starts_at, ends_at=ends_at,
                                   place=place)
    session.add(course_session)
    session.flush()
    publish_event(events.session_added, session, offering=offering,
            course_session_id=course_session.id, before=None,
            after=snapshot(course_session, SESSION_FIELDS), actor=actor)
    return course_session


def move_session(
    session: Session, course_session: CourseSession, starts_at: datetime, ends_at: datetime,
    place: str, actor,
) -> None:
    """Change when and where a session takes place; no event when nothing changed.

    A day with attendance recorded cannot move to start after the first mark was made
    (``AttendanceBeforeStart``): attendance is only ever recorded for a day that has begun.
    """
    _check_period(starts_at, ends_at)
    first_mark = session.scalar(
        sa.select(sa.func.min(Attendance.marked_at))
        .where(Attendance.session_id == course_session.id)
    )
    if first_mark is not None and starts_at > first_mark:
        raise AttendanceBeforeStart()
    before = snapshot(course_session, SESSION_FIELDS)
    course_session.starts_at, course_session.ends_at = starts_at, ends_at
    course_session.place = place
    session.flush()
    old, new = _changes(before, snapshot(course_session, SESSION_FIELDS))
    if new:
        publish_event(events.session_moved, session, offering=course_session.offering,
                course_session_id=course_session.id, before=old, after=new, actor=actor)


def remove_session(session: Session, course_session: CourseSession, actor) -> None:
    """Delete a session that has no attendance marked and is not a published course's last."""
    offering = _lock(session, course_session.offering)
    marked = session.scalar(
        sa.select(sa.func.count()).select_from(Attendance)
        .where(Attendance.session_id == course_session.id)
    )
    if marked:
        raise SessionHasAttendance()
    if offering.status == OfferingStatus.PUBLISHED and len(offering.sessions) <= 1:
        raise LastSession()
    before = snapshot(course_session, SESSION_FIELDS)
    session_id = course_session.id
    offering.sessions.remove(course_session)
    session.flush()
    publish_event(events.session_removed, session, offering=offering, course_session_id=session_id,
            before=before, after=None, actor=actor)
