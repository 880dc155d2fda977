"""Staff operations on the participants of an offering: approve, reject, cancel on someone's
behalf, move to another offering, add by hand, and search.

Like ``services.enrollments`` these take a session, plain values and the acting staff member,
flush and never commit, and raise the domain errors of ``enrollment.errors``. Every operation
publishes one event (``enrollment.events``) with the enrollment's state before, whose
subscribers write the audit event and record the participant's mail; seats freed by an
operation go to the waiting list in the same transaction, and those promoted are named in the
event and announced by ``promoted``. Who may touch which county is the view's business
(``core.auth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from core.collation import collated
from core.events import publish
from enrollment import events
from enrollment.errors import (
    AlreadyEnrolled,
    InvalidTransition,
    NotEligible,
    NotMovable,
    OfferingCancelled,
    ReasonRequired,
)
from enrollment.models import (
    ACTIVE_STATUSES,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
)
from enrollment.services import enrollments, links
from enrollment.services.enrollments import PersonDetails, state
from enrollment.services.people import new_participant
from enrollment.services.seats import (
    announce_promoted,
    change_status,
    find_active_duplicate,
    hold_person,
    lock_offering,
    promote_waiting,
    take_turn,
    waitlist_position,
)

S = EnrollmentStatus
SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 100


@dataclass(frozen=True)
class Decision:
    """The enrollment a staff decision changed, its waiting-list place, and whom it promoted."""

    enrollment: Enrollment
    previous: EnrollmentStatus
    waitlist_position: int | None = None
    promoted: tuple[Enrollment, ...] = ()


@dataclass(frozen=True)
class Move:
    """A move: the old enrollment (now cancelled), the new one, its place, whom it promoted."""

    old: Enrollment
    new: Enrollment
    waitlist_position: int | None
    promoted: tuple[Enrollment, ...]


@dataclass(frozen=True)
class Roster:
    """The enrollments of an offering in the sections staff work with."""

    confirmed: list[Enrollment]  # in Norwegian name order
    pending: list[Enrollment]
    waitlisted: list[Enrollment]  # first in line first
    closed: list[Enrollment]  # cancelled and rejected, and offers that ran out
    offered: list[Enrollment] = ()  # a freed seat offered, not yet accepted; first offered first

    def rows(self) -> list[tuple[Enrollment, int | None]]:
        """Every enrollment section by section, with its waiting-list place (or None)."""
        return [
            *((e, None) for e in self.confirmed),
            *((e, None) for e in self.pending),
            *((e, None) for e in self.offered),
            *((e, place) for place, e in enumerate(self.waitlisted, start=1)),
            *((e, None) for e in self.closed),
        ]


def roster(session: Session, offering_id: int) -> Roster:
    """Everyone enrolled in an offering, in one query whatever their number: the confirmed in
    Norwegian name order (``core.collation``), every other section in order of arrival."""
    # One ORDER BY serves every section: the confirmed by name, the others (whose name key is
    # NULL) by arrival. The sections are split below, so where NULLs sort does not matter.
    confirmed_name = collated(sa.case((Enrollment.status == S.CONFIRMED,
                                       Participant.full_name)))
    enrollments = session.scalars(
        sa.select(Enrollment)
        .join(Enrollment.participant)
        .where(Enrollment.offering_id == offering_id)
        .options(contains_eager(Enrollment.participant))
        .order_by(confirmed_name, Enrollment.arrived_at, Enrollment.id)
    ).all()
    by_status: dict[EnrollmentStatus, list[Enrollment]] = {status: [] for status in S}
    for enrollment in enrollments:
        by_status[enrollment.status].append(enrollment)
    return Roster(
        confirmed=by_status[S.CONFIRMED],
        pending=by_status[S.PENDING],
        waitlisted=by_status[S.WAITLISTED],
        closed=by_status[S.CANCELLED] + by_status[S.REJECTED] + by_status[S.OFFER_EXPIRED],
        offered=by_status[S.OFFERED],
    )


def _load(session: Session, enrollment_id: int) -> Enrollment:
    """The enrollment as the database holds it now (call with its offering locked)."""
    enrollment = session.scalar(
        sa.select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .options(joinedload(Enrollment.participant))
        .execution_options(populate_existing=True)
    )
    if enrollment is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    return enrollment


def _locked(session: Session, enrollment_id: int) -> tuple[Enrollment, CourseOffering]:
    """Lock the enrollment's offering, then read the enrollment under that lock."""
    offering_id = session.scalar(
        sa.select(Enrollment.offering_id).where(Enrollment.id == enrollment_id)
    )
    if offering_id is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    offering = lock_offering(session, offering_id)
    return _load(session, enrollment_id), offering


def approve(session: Session, enrollment_id: int, *, actor) -> Decision:
    """Approve a pending enrollment: confirmed if a seat is free, else onto the waiting list."""
    enrollment, offering = _locked(session, enrollment_id)
    if enrollment.status != S.PENDING:
        raise InvalidTransition(enrollment.status, S.CONFIRMED)
    before = state(enrollment)
    target = S.CONFIRMED if offering.seats_left > 0 else S.WAITLISTED
    previous = change_status(enrollment, target, offering)
    session.flush()
    position = waitlist_position(session, enrollment)
    publish(events.approved, session, enrollment=enrollment, position=position, before=before,
            actor=actor)
    return Decision(enrollment, previous, position)


def reject(session: Session, enrollment_id: int, reason: str, *, actor) -> Decision:
    """Reject a pending or waitlisted enrollment; ``reason`` is sent to the participant."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    enrollment, offering = _locked(session, enrollment_id)
    before = state(enrollment)
    previous = change_status(enrollment, S.REJECTED, offering, reason)
    session.flush()
    publish(events.rejected, session, enrollment=enrollment, before=before, actor=actor)
    return Decision(enrollment, previous)


def cancel(session: Session, enrollment_id: int, reason: str, *, actor,
           now: datetime) -> Decision:
    """Cancel an enrollment on the participant's behalf, whatever the deadline; a freed seat
    goes to the first on the waiting list."""
    enrollment, _offering = _locked(session, enrollment_id)
    previous = enrollment.status
    promoted = enrollments.cancel(session, enrollment, now, by_staff=True,
                                  reason=(reason or "").strip(), actor=actor)
    return Decision(enrollment, previous, None, tuple(promoted))


def move_targets(session: Session, enrollment: Enrollment, *,
                 scope: sa.ColumnElement[bool]) -> list[CourseOffering]:
    """The offerings ``enrollment`` may be moved to: same kind and county, not cancelled,
    within ``scope``; soonest first."""
    source = enrollment.offering
    first_day = (
        sa.select(sa.func.min(CourseSession.starts_at))
        .where(CourseSession.offering_id == CourseOffering.id)
        .scalar_subquery()
    )
    return list(session.scalars(
        sa.select(CourseOffering)
        .where(
            CourseOffering.id != source.id,
            CourseOffering.kind_id == source.kind_id,
            CourseOffering.county_id == source.county_id,
            CourseOffering.status != OfferingStatus.CANCELLED,
            scope,
        )
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
                 selectinload(CourseOffering.sessions))
        .order_by(first_day, CourseOffering.cohort, CourseOffering.id)
    ))


def move(session: Session, enrollment_id: int, target_offering_id: int, *, actor,
         now: datetime) -> Move:
    """Move an active enrollment to another offering of the same kind and county.

    The old enrollment is cancelled (its attendance and history stay with it) and a new one is
    made in the target: confirmed if a seat is free, else last on its waiting list. The
    participant's manage links move with them. Both offerings are locked in id order, so two
    moves in opposite directions cannot deadlock.
    """
    found = session.execute(
        sa.select(Enrollment.offering_id, Participant.email, Participant.hpr_number)
        .join(Enrollment.participant).where(Enrollment.id == enrollment_id)
    ).one_or_none()
    if found is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    source_id = found.offering_id
    if source_id == target_offering_id:
        raise NotMovable()
    # The person first, then the offerings' rows: the order every enrollment takes them in.
    hold_person(session, target_offering_id, found.email, found.hpr_number)
    locked = {oid: lock_offering(session, oid)
              for oid in sorted({source_id, target_offering_id})}
    source, target = locked[source_id], locked[target_offering_id]
    if target is None or (target.kind_id, target.county_id) != (source.kind_id,
                                                                 source.county_id):
        raise NotMovable()
    if target.status == OfferingStatus.CANCELLED:
        raise OfferingCancelled(code=NotMovable.code, field="target")
    old = _load(session, enrollment_id)
    person = old.participant
    if old.status not in ACTIVE_STATUSES:
        raise InvalidTransition(old.status, S.CONFIRMED)
    # The same duplicate rule as a participant's own enrollment (same package, same rule).
    duplicate = find_active_duplicate(session, target.id, person.email, person.hpr_number)
    if duplicate is not None:
        raise AlreadyEnrolled(duplicate, code="already_in_target", field="target")

    before = state(old)
    change_status(old, S.CANCELLED, source)
    new = Enrollment(
        offering=target, participant=person, status=S.PENDING, arrived_at=now,
        start_month=old.start_month, needs=old.needs, consent_at=old.consent_at,
    )
    session.add(new)
    session.flush()
    position = take_turn(session, new, now, public=False).position
    session.flush()
    # The links pass to the new enrollment, so those the participant already has open it;
    # the old enrollment keeps none.
    links.move_links(session, old, new)
    promoted = promote_waiting(session, source, now)
    publish(events.moved, session, old=old, new=new, position=position, promoted=promoted,
            before=before, actor=actor)
    announce_promoted(session, promoted)
    return Move(old, new, position, tuple(promoted))


def add(session: Session, offering_id: int, person: PersonDetails, *, actor,
        now: datetime) -> enrollments.EnrollResult:
    """Enroll a person by hand. Staff may do so before or after the enrollment window and in
    an offering that requires approval; seats, the waiting list, the roles the course kind
    admits and the one-enrollment-per-person rule still hold (the seat decided as for anyone,
    by ``take_turn``)."""
    offering = session.get(CourseOffering, offering_id)
    if offering is None or offering.status == OfferingStatus.CANCELLED:
        raise OfferingCancelled()
    if person.role not in enrollments.eligible_roles(session, offering):
        raise NotEligible(code="role_not_admitted")
    email = person.email.strip().lower()
    hold_person(session, offering.id, email, person.hpr_number)
    duplicate = find_active_duplicate(session, offering.id, email, person.hpr_number)
    if duplicate is not None:
        raise AlreadyEnrolled(duplicate, code="already_in_course")
    participant = new_participant(session, person)
    token, digest = links.new_token()
    enrollment = Enrollment(
        offering=offering, participant=participant, status=S.PENDING, arrived_at=now,
        manage_links=[ManageLink(token_hash=digest, created_at=now)],
        start_month=person.start_month, needs=person.needs, consent_at=now,
    )
    session.add(enrollment)
    session.flush()
    position = take_turn(session, enrollment, now, public=False).position
    session.flush()
    publish(events.enrolled, session, enrollment=enrollment, token=token, position=position,
            actor=actor)
    return enrollments.EnrollResult(enrollment, token, position)


def search(session: Session, query: str, *, scope: sa.ColumnElement[bool],
           limit: int = SEARCH_LIMIT) -> list[Enrollment]:
    """Enrollments whose participant's name or e-mail contains ``query``, or whose HPR number
    is it, within ``scope`` (a condition on ``CourseOffering``, e.g. ``county_scope``); at most
    ``limit``, the newest kept. Listed in Norwegian name order, one person's newest first."""
    text = query.strip()
    if len(text) < SEARCH_MIN_LENGTH:
        return []
    digits = text.replace(" ", "")
    matches = [
        Participant.full_name.icontains(text, autoescape=True),
        Participant.email.icontains(text, autoescape=True),
    ]
    if digits.isdecimal():
        matches.append(Participant.hpr_number == digits)
    newest = (
        sa.select(Enrollment.id)
        .join(Enrollment.participant)
        .join(Enrollment.offering)
        .where(sa.or_(*matches), scope)
        .order_by(Enrollment.arrived_at.desc(), Enrollment.id.desc())
        .limit(limit)
    )
    return list(session.scalars(
        sa.select(Enrollment)
        .join(Enrollment.participant)
        .where(Enrollment.id.in_(newest.scalar_subquery()))
        .options(
            contains_eager(Enrollment.participant),
            joinedload(Enrollment.offering).joinedload(CourseOffering.county),
            joinedload(Enrollment.offering).joinedload(CourseOffering.kind),
        )
        .order_by(collated(Participant.full_name), Enrollment.arrived_at.desc(),
                  Enrollment.id.desc())
    ))
