"""Waiting-list offers that expire: an offering with ``offer_hours`` offers a freed seat to the
first on the waiting list (``seats.promote_waiting``), who has those hours to accept it from
their manage page. Accepted, the seat is theirs; declined or run out, it is offered to the next
in arrival order. The offered seat counts as taken all the while, so nobody else gets it.

The expiry is done by the periodic ``flask reminders send`` (``enrollment.reminders``), one
offering at a time under its row lock: two machines running it at once wait for each other on
that lock, and the second finds nothing left to expire.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.events import publish
from enrollment import events
from enrollment.errors import NoOffer, OfferExpired
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.services.enrollments import cancel
from enrollment.services.seats import (
    announce_promoted,
    change_status,
    lock_offering,
    promote_waiting,
)

S = EnrollmentStatus


def offer_open(enrollment: Enrollment, now: datetime) -> bool:
    """Whether the enrollment holds an offer that may still be accepted at ``now``."""
    return (enrollment.status == S.OFFERED and enrollment.offer_expires_at is not None
            and now < enrollment.offer_expires_at)


def _check_offer(session: Session, enrollment: Enrollment, now: datetime) -> None:
    """Lock the offering, read the enrollment again, and refuse unless its offer is open."""
    lock_offering(session, enrollment.offering_id)
    session.refresh(enrollment)
    if enrollment.status == S.OFFER_EXPIRED or (
            enrollment.status == S.OFFERED and not offer_open(enrollment, now)):
        raise OfferExpired()
    if enrollment.status != S.OFFERED:
        raise NoOffer()


def accept_offer(session: Session, enrollment: Enrollment, now: datetime) -> None:
    """Take the offered seat: the enrollment is confirmed. Refused with ``OfferExpired`` once
    the offer has run out, even before the periodic command has passed it on."""
    _check_offer(session, enrollment, now)
    change_status(enrollment, S.CONFIRMED, enrollment.offering)
    session.flush()
    publish(events.offer_accepted, session, enrollment=enrollment)


def decline_offer(session: Session, enrollment: Enrollment, now: datetime) -> list[Enrollment]:
    """Say no to the offered seat: the enrollment is withdrawn (whatever the cancelling
    deadline, which is about seats already given) and the seat offered to the next in line.
    Returns the enrollments it went to."""
    _check_offer(session, enrollment, now)
    return cancel(session, enrollment, now, by_staff=False, ignore_deadline=True)


def offerings_with_expired_offers(session: Session, now: datetime) -> list[int]:
    """The offerings holding an offer that has run out at ``now``."""
    return list(session.scalars(
        sa.select(Enrollment.offering_id).distinct()
        .where(Enrollment.status == S.OFFERED, Enrollment.offer_expires_at <= now)
        .order_by(Enrollment.offering_id)))


def expire_offers(session: Session, offering_id: int, now: datetime) -> list[Enrollment]:
    """Under the offering's lock, end every offer of it that has run out at ``now`` and offer
    the seats to the next in arrival order; publishes ``offer_expired`` for each, then
    ``offered``/``promoted`` for whoever got the seat. Returns the expired enrollments (none
    when another process did it first)."""
    offering = lock_offering(session, offering_id)
    if offering is None:
        return []
    expired = list(session.scalars(
        sa.select(Enrollment)
        .where(Enrollment.offering_id == offering_id, Enrollment.status == S.OFFERED,
               Enrollment.offer_expires_at <= now)
        .order_by(Enrollment.arrived_at, Enrollment.id)
        .execution_options(populate_existing=True)))
    for enrollment in expired:
        change_status(enrollment, S.OFFER_EXPIRED, offering)
    session.flush()
    promoted = promote_waiting(session, offering, now)
    for enrollment in expired:
        publish(events.offer_expired, session, enrollment=enrollment, promoted=promoted)
    announce_promoted(session, promoted)
    return expired
