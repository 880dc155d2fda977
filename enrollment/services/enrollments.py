"""Domain operations of enrollment: enroll, cancel, promote, decide.

Plain functions that take a session and plain values, flush and never commit; the request's
edge or the CLI command commits once. Every status change goes through ``change_status`` and its
table of allowed moves, and a new enrollment gets its seat from ``take_turn``, one statement on
the offering's row (``enrollment.services.seats``). Each operation publishes what happened
(``enrollment.events``): the mail and the audit log follow from the event, so no caller can
forget them.
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
    InvalidTransition,
    NotEligible,
    OfferingCancelled,
)
from enrollment.models import (
    SEATED_STATUSES,
    CourseKind,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Role,
)
from enrollment.services.links import issue_link, new_token
from enrollment.services.people import new_participant
from enrollment.services.seats import (
    TRANSITIONS,
    announce_promoted,
    change_status,
    check_open,
    find_active_duplicate,
    hold_person,
    lock_offering,
    promote_waiting,
    take_turn,
    waitlist_position,
)

S = EnrollmentStatus

# What the events (and so the audit log) keep of an enrollment's state, before and after.
STATE_FIELDS = ["status", "offering_id", "status_reason"]


def state(enrollment: Enrollment) -> dict:
    """The enrollment's status, offering and reason, as plain values."""
    return snapshot(enrollment, STATE_FIELDS)

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


# --- the operations ------------------------------------------------------------------------


def eligible_roles(session: Session, offering: CourseOffering) -> frozenset[Role]:
    """The roles that may enroll in ``offering``: its kind's (loaded with the offering by
    ``offering_to_enroll`` and the course page, else read once)."""
    return offering.kind.role_set


def offering_to_enroll(session: Session, offering_id: int) -> CourseOffering | None:
    """A visible offering with what an enrollment reads and its mail shows (county, kind and
    its roles, sessions) in one statement: the sign-up form's POST loads no more. (Roles times
    sessions rows: a handful.)"""
    return session.scalars(
        sa.select(CourseOffering)
        .where(CourseOffering.id == offering_id,
               CourseOffering.status.in_([OfferingStatus.PUBLISHED, OfferingStatus.CANCELLED]))
        .options(joinedload(CourseOffering.county),
                 joinedload(CourseOffering.kind).joinedload(CourseKind.roles),
                 joinedload(CourseOffering.sessions))).unique().one_or_none()


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
    everything is written before taking it: the offering's sessions and county are loaded, the
    window and the role checked, the person held (``hold_person``) and checked for an active
    enrollment, the participant, the enrollment and its manage link inserted. Then one
    statement on the offering's row decides the seat and takes the lock (``take_turn``), and
    ``enrolled`` is published, whose mail subscriber only records the mail (one outbox row,
    rendered after the commit, outside the lock).
    """
    offering = _prepare_offering(session, offering_id)
    if offering is None:
        raise OfferingCancelled()
    check_open(offering, now)
    if person.role not in eligible_roles(session, offering):
        raise NotEligible()
    email = person.email.strip().lower()
    hold_person(session, offering_id, email, person.hpr_number)
    duplicate = find_active_duplicate(session, offering_id, email, person.hpr_number)
    if duplicate is not None:
        raise AlreadyEnrolled(duplicate)
    # Its own participant, address unconfirmed: typing an address joins nobody's person.
    participant = new_participant(session, person)
    token, digest = new_token()
    enrollment = Enrollment(
        offering=offering, participant=participant, status=S.PENDING, arrived_at=now,
        manage_links=[ManageLink(token_hash=digest, created_at=now)],
        start_month=person.start_month, needs=person.needs, consent_at=now,
    )
    session.add(enrollment)
    session.flush()
    # Arrival is the turn at the offering's row, not the moment the request began: a request
    # that waited for the lock behind a later one is placed behind it, whatever the clocks of
    # several app servers say.
    turn = take_turn(session, enrollment, now, public=True)
    publish(events.enrolled, session, enrollment=enrollment, token=token,
            position=turn.position, actor=None)
    return EnrollResult(enrollment, token, turn.position)


def enrolled_again(session: Session, enrollment_id: int, now: datetime) -> None:
    """Someone sent the form again for an active enrollment: its holder gets a fresh link
    (beside those already sent), by mail to the enrollment's own address."""
    enrollment = session.get(Enrollment, enrollment_id)
    token = issue_link(session, enrollment, now)
    publish(events.enrolled_again, session, enrollment=enrollment, token=token,
            position=waitlist_position(session, enrollment))


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
    frees_seat = enrollment.status in SEATED_STATUSES
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
    reason: str = "", actor=None, ignore_deadline: bool = False,
) -> list[Enrollment]:
    """Cancel an enrollment and, if it held a seat, promote the next in line in the same
    transaction; publishes ``cancelled``, then ``promoted`` for each promoted. Returns the
    enrollments promoted. ``ignore_deadline``: a declined seat offer, which may be answered
    whatever the participant's cancelling deadline."""
    offering = lock_offering(session, enrollment.offering_id)
    session.refresh(enrollment)
    deadline = cancellation_deadline(offering)
    if not (by_staff or ignore_deadline) and deadline is not None and now >= deadline:
        raise CancelDeadlinePassed(email=offering.county.email)
    if S.CANCELLED not in TRANSITIONS[enrollment.status]:
        raise InvalidTransition(enrollment.status, S.CANCELLED,
                                code=None if by_staff else "not_cancellable")
    before = state(enrollment)
    change_status(enrollment, S.CANCELLED, offering, reason)
    session.flush()
    promoted = promote_waiting(session, offering, now)
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
