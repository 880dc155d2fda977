"""Domain operations of enrollment: enroll, cancel, promote, decide.

Plain functions that take a session and plain values, flush and never commit; the request's
edge or the CLI command commits once. Every status change goes through ``change_status`` and its
table of allowed moves. Seats are counted under a lock on the offering row (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the write session's ``BEGIN IMMEDIATE`` already holds the
write lock). Each operation publishes what happened (``enrollment.events``): the mail and the
audit log follow from the event, so no caller can forget them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from core.audit import snapshot
from core.events import publish
from enrollment import events
from enrollment.errors import (
    AlreadyEnrolled,
    CancelDeadlinePassed,
    CourseFull,
    EnrollmentClosed,
    InvalidTransition,
    NotEligible,
    NotOpenYet,
    OfferingCancelled,
)
from enrollment.models import (
    ACTIVE_STATUSES,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    EnrollmentWindow,
    KindRole,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services.links import issue_link, new_token
from enrollment.services.people import new_participant

S = EnrollmentStatus

# What the events (and so the audit log) keep of an enrollment's state, before and after.
STATE_FIELDS = ["status", "offering_id", "status_reason"]


def state(enrollment: Enrollment) -> dict:
    """The enrollment's status, offering and reason, as plain values."""
    return snapshot(enrollment, STATE_FIELDS)

# The only moves an enrollment's status may make.
TRANSITIONS: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.WAITLISTED, S.REJECTED, S.CANCELLED}),
    S.WAITLISTED: frozenset({S.CONFIRMED, S.CANCELLED, S.REJECTED}),
    S.CONFIRMED: frozenset({S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}


@dataclass(frozen=True)
class PersonDetails:
    """What a person gives on the enrollment form."""

    full_name: str
    email: str
    phone: str
    role: Role
    hpr_number: str | None
    employer: str
    locale: str
    start_month: date | None = None
    needs: str = ""


@dataclass(frozen=True)
class EnrollResult:
    """A new enrollment and its manage token (shown once, never stored)."""

    enrollment: Enrollment
    token: str
    waitlist_position: int | None


# --- seats and status ----------------------------------------------------------------------


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
    """Move ``enrollment`` to ``target`` if the table allows it, keeping the seat count right.

    The caller holds the offering's lock. Returns the previous status.
    """
    current = enrollment.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)
    if target == S.CONFIRMED:
        if offering.seats_taken >= offering.capacity:
            raise CourseFull(current)
        offering.seats_taken += 1
    if current == S.CONFIRMED:
        offering.seats_taken -= 1
    enrollment.status = target
    if reason:
        enrollment.status_reason = reason
    return current


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


def promote_waiting(session: Session, offering: CourseOffering) -> list[Enrollment]:
    """Fill free seats from the waiting list in arrival order; returns those promoted.

    The caller holds the offering's lock.
    """
    promoted = []
    if offering.seats_left <= 0:
        return promoted
    for enrollment in waitlist(session, offering.id)[: offering.seats_left]:
        change_status(enrollment, S.CONFIRMED, offering)
        promoted.append(enrollment)
    session.flush()
    return promoted


def announce_promoted(session: Session, promoted: list[Enrollment]) -> None:
    """Publish ``promoted`` for each enrollment ``promote_waiting`` gave a seat (after the event
    of the change that freed it, so the mails go out in that order)."""
    for enrollment in promoted:
        publish(events.promoted, session, enrollment=enrollment)


# --- the operations ------------------------------------------------------------------------


def _find_active_duplicate(
    session: Session, offering_id: int, email: str, hpr: str | None
) -> Enrollment | None:
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


def check_open(offering: CourseOffering, now: datetime) -> None:
    """Raise unless the offering takes enrollments at ``now`` (the one rule of
    ``CourseOffering.enrollment_window``, which the course page and the catalog show)."""
    refusal = {EnrollmentWindow.NOT_PUBLISHED: OfferingCancelled, EnrollmentWindow.CLOSED:
               EnrollmentClosed, EnrollmentWindow.NOT_YET: NotOpenYet}.get(
                   offering.enrollment_window(now))
    if refusal is not None:
        raise refusal()


def eligible_roles(session: Session, offering: CourseOffering) -> frozenset[Role]:
    """The roles that may enroll in ``offering``."""
    return frozenset(
        session.scalars(sa.select(KindRole.role).where(KindRole.kind_id == offering.kind_id))
    )


def _prepare_offering(session: Session, offering_id: int) -> CourseOffering | None:
    """The offering with what the enrollment e-mail shows, read before the seat lock (from the
    session when the view has loaded it already)."""
    offering = session.get(CourseOffering, offering_id, options=[
        joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
        selectinload(CourseOffering.sessions)])
    if offering is not None:
        offering.sessions, offering.county, offering.kind  # noqa: B018 (loaded, not locked)
    return offering


def enroll(
    session: Session, offering_id: int, person: PersonDetails, now: datetime
) -> EnrollResult:
    """Enroll a person: confirmed if a seat is free, pending if approval is required, else
    waitlisted. Raises a domain error when the offering, the role or a duplicate refuses it.

    Enrollments into one offering queue for its row lock, held until the caller commits, so
    everything that does not depend on the seats is done before taking it: the offering's
    sessions and county, the role check, the new participant row, the token. Under the lock:
    the lock, one read (a duplicate, the latest arrival, the waiting list's length), the
    enrollment and the seat count, then ``enrolled`` is published, whose mail subscriber only
    records the mail (an outbox row): it is rendered after the commit, outside the lock.
    """
    offering = _prepare_offering(session, offering_id)
    if offering is None:
        raise OfferingCancelled()
    check_open(offering, now)
    if person.role not in eligible_roles(session, offering):
        raise NotEligible()
    email = person.email.strip().lower()
    # Its own participant, address unconfirmed: typing an address joins nobody's person.
    participant = new_participant(session, person)
    token, digest = new_token()
    session.flush()

    offering = lock_offering(session, offering_id)
    if offering is None:
        raise OfferingCancelled()
    check_open(offering, now)  # again: it may have changed while we waited for the lock
    duplicate_id, latest, waiting = session.execute(
        _seat_facts(offering.id, email, person.hpr_number)).one()
    if duplicate_id is not None:
        raise AlreadyEnrolled(session.get(Enrollment, duplicate_id,
                                          options=[joinedload(Enrollment.participant)]))
    # Arrival is the turn at the offering's lock, not the moment the request began: a request
    # that waited for the lock behind a later one must not be placed ahead of it, whatever the
    # clocks of several app servers say.
    enrollment = Enrollment(
        offering=offering, participant=participant, status=S.PENDING,
        arrived_at=max(now, latest) if latest is not None else now,
        manage_links=[ManageLink(token_hash=digest, created_at=now)],
        start_month=person.start_month, needs=person.needs, consent_at=now,
    )
    session.add(enrollment)
    if not offering.requires_approval:
        target = S.CONFIRMED if offering.seats_left > 0 else S.WAITLISTED
        change_status(enrollment, target, offering)
    session.flush()
    # It arrived last (at or after the latest arrival, with the highest id), so its place is
    # behind everyone waiting now: what ``waitlist_position`` would count, without a query.
    position = waiting + 1 if enrollment.status == S.WAITLISTED else None
    publish(events.enrolled, session, enrollment=enrollment, token=token, position=position,
            actor=None)
    return EnrollResult(enrollment, token, position)


def enrolled_again(session: Session, enrollment_id: int, now: datetime) -> None:
    """Someone sent the form again for an active enrollment: its holder gets a fresh link
    (beside those already sent), by mail to the enrollment's own address."""
    enrollment = session.get(Enrollment, enrollment_id)
    token = issue_link(session, enrollment, now)
    publish(events.enrolled_again, session, enrollment=enrollment, token=token,
            position=waitlist_position(session, enrollment))


def _seat_facts(offering_id: int, email: str, hpr: str | None) -> sa.Select:
    """One row read under the seat lock: an active enrollment of the same person (id or
    None), the latest arrival (or None), and how many are on the waiting list."""
    same_person = Participant.email == email
    if hpr:
        same_person = sa.or_(same_person, Participant.hpr_number == hpr)
    of_offering = Enrollment.offering_id == offering_id
    return sa.select(
        sa.select(Enrollment.id).join(Enrollment.participant)
        .where(of_offering, Enrollment.status.in_(ACTIVE_STATUSES), same_person)
        .limit(1).scalar_subquery(),
        sa.select(sa.func.max(Enrollment.arrived_at)).where(of_offering).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Enrollment)
        .where(of_offering, Enrollment.status == S.WAITLISTED).scalar_subquery(),
    )


def cancellation_deadline(offering: CourseOffering) -> datetime | None:
    """Until when a participant may cancel by themselves."""
    if offering.cancel_deadline is not None:
        return offering.cancel_deadline
    return offering.sessions[0].starts_at if offering.sessions else None


@dataclass(frozen=True)
class CancelOutlook:
    """What cancelling an enrollment would do now, for the page that asks to confirm it."""

    possible: bool  # the status allows it and the participant's deadline has not passed
    too_late: bool  # the participant's deadline has passed (staff can still do it)
    frees_seat: bool  # the enrollment holds a seat
    next_in_line: bool  # someone on the waiting list would get that seat
    position: int | None  # the enrollment's own place on the waiting list


def cancel_outlook(session: Session, enrollment: Enrollment, now: datetime) -> CancelOutlook:
    """What ``cancel`` would do at ``now``, read without locking or writing anything."""
    deadline = cancellation_deadline(enrollment.offering)
    too_late = deadline is not None and now >= deadline
    allowed = S.CANCELLED in TRANSITIONS[enrollment.status]
    frees_seat = enrollment.status == S.CONFIRMED
    waiting = session.scalar(
        sa.select(sa.func.count()).select_from(Enrollment).where(
            Enrollment.offering_id == enrollment.offering_id, Enrollment.status == S.WAITLISTED)
    ) if frees_seat else 0
    return CancelOutlook(
        possible=allowed and not too_late, too_late=allowed and too_late,
        frees_seat=frees_seat, next_in_line=bool(waiting),
        position=waitlist_position(session, enrollment),
    )


def cancel(
    session: Session, enrollment: Enrollment, now: datetime, *, by_staff: bool = False,
    reason: str = "", actor=None,
) -> list[Enrollment]:
    """Cancel an enrollment and, if it held a seat, promote the next in line in the same
    transaction; publishes ``cancelled``, then ``promoted`` for each promoted. Returns the
    enrollments promoted."""
    offering = lock_offering(session, enrollment.offering_id)
    session.refresh(enrollment)
    deadline = cancellation_deadline(offering)
    if not by_staff and deadline is not None and now >= deadline:
        raise CancelDeadlinePassed(email=offering.county.email)
    if S.CANCELLED not in TRANSITIONS[enrollment.status]:
        raise InvalidTransition(enrollment.status, S.CANCELLED,
                                code=None if by_staff else "not_cancellable")
    before = state(enrollment)
    change_status(enrollment, S.CANCELLED, offering, reason)
    session.flush()
    promoted = promote_waiting(session, offering)
    publish(events.cancelled, session, enrollment=enrollment, by_staff=by_staff, reason=reason,
            promoted=promoted, before=before, actor=actor)
    announce_promoted(session, promoted)
    return promoted


def update_contact(
    session: Session, enrollment: Enrollment, *, full_name: str, phone: str, employer: str,
    needs: str, locale: str,
) -> None:
    """Change the contact details a participant gave, except the e-mail address: that changes
    only through a confirmed ``enrollment.email_change``."""
    person = enrollment.participant
    person.full_name, person.phone = full_name, phone
    person.employer, person.locale = employer, locale
    enrollment.needs = needs
    session.flush()
