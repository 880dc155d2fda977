"""Changing a participant's e-mail address: confirmed from the new address, told to the old.

The address is what the personal-data export, the lost-link form and every mail rely on, so
nobody may take over someone else's by typing it on their own manage page. A request stores the
new address as pending and mails a one-time link to it (``confirm``) and a notice with a link
that stops the change to the old address (``cancel``). Until the link is opened everything keeps
using the old address. The clash with another enrollment of the same course that uses the new
address is checked when the link is opened, by the owner of that address, so the manage page
never tells whether an address is enrolled.

Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core.events import publish
from enrollment import events
from enrollment.errors import AlreadyEnrolled
from enrollment.models import CourseOffering, EmailChange, Enrollment
from enrollment.services.links import hash_token, new_token
from enrollment.services.people import confirm_address
from enrollment.services.seats import find_active_duplicate

CONFIRM, CANCEL = "confirm", "cancel"


@dataclass(frozen=True)
class ChangeRequest:
    """A new pending change and its two tokens (mailed once, never stored)."""

    change: EmailChange
    confirm_token: str
    cancel_token: str


def pending_change(session: Session, participant_id: int, now: datetime) -> EmailChange | None:
    """The participant's change waiting for confirmation, if any."""
    return session.scalar(sa.select(EmailChange).where(
        EmailChange.participant_id == participant_id, EmailChange.confirmed_at.is_(None),
        EmailChange.cancelled_at.is_(None), EmailChange.expires_at > now,
    ).order_by(EmailChange.id.desc()).limit(1))


def _stop_pending(session: Session, participant_id: int, now: datetime) -> None:
    session.execute(
        sa.update(EmailChange)
        .where(EmailChange.participant_id == participant_id, EmailChange.confirmed_at.is_(None),
               EmailChange.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False))


def request_change(session: Session, enrollment: Enrollment, new_email: str, now: datetime,
                   valid_for: timedelta) -> ChangeRequest | None:
    """Record a change to ``new_email`` (replacing a pending one); None when the address is
    the current one (a pending change to another address is then stopped)."""
    new_email = new_email.strip().lower()
    person = enrollment.participant
    _stop_pending(session, person.id, now)
    if new_email == person.email:
        session.flush()
        return None
    confirm, confirm_hash = new_token()
    cancel, cancel_hash = new_token()
    change = EmailChange(participant=person, enrollment=enrollment, new_email=new_email,
                         confirm_hash=confirm_hash, cancel_hash=cancel_hash, created_at=now,
                         expires_at=now + valid_for)
    session.add(change)
    session.flush()
    publish(events.email_change_requested, session, change=change, confirm_token=confirm,
            cancel_token=cancel)
    return ChangeRequest(change, confirm, cancel)


def find_change(session: Session, token: str, now: datetime) -> tuple[EmailChange, str] | None:
    """The pending change a link opens and which link it is (``CONFIRM`` or ``CANCEL``)."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    digest = hash_token(token)
    change = session.scalar(
        sa.select(EmailChange)
        .where(sa.or_(EmailChange.confirm_hash == digest, EmailChange.cancel_hash == digest))
        .options(joinedload(EmailChange.participant),
                 joinedload(EmailChange.enrollment).joinedload(Enrollment.offering)
                 .joinedload(CourseOffering.county)))
    if change is None or not change.pending(now) or not change.participant.email:
        return None
    return change, CONFIRM if change.confirm_hash == digest else CANCEL


def confirm_change(session: Session, change: EmailChange, now: datetime) -> None:
    """Make the new address the participant's (``email_changed``). Raises ``AlreadyEnrolled`` when
    another active enrollment of the same course uses it (one enrollment per person)."""
    other = find_active_duplicate(session, change.enrollment.offering_id, change.new_email,
                                   None)
    if other is not None and other.id != change.enrollment_id:
        raise AlreadyEnrolled(other)
    change.participant.email = change.new_email
    change.confirmed_at = now
    session.flush()
    publish(events.email_changed, session, change=change)
    # The link was opened from the new address: it is confirmed, and the participant joins the
    # person who already holds it, if any (``people.confirm_address``).
    change.participant.email_confirmed_at = None
    confirm_address(session, change.participant, now)


def cancel_change(session: Session, change: EmailChange, now: datetime) -> None:
    """Stop the change from the link sent to the old address (``email_change_stopped``)."""
    change.cancelled_at = now
    session.flush()
    publish(events.email_change_stopped, session, change=change)
