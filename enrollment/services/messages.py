"""Messages from staff to an offering's participants: who they reach, sending one, and the
lists of those sent (the offering's staff page) and received (a manage page).

A message goes to one audience of the offering's active enrollments (everyone, the confirmed,
or the waiting list; never those withdrawn or rejected). Sending keeps the text once and one
delivery per enrollment, and gives each recipient a fresh manage link for their mail; the
event ``message_sent`` has the mail recorded per recipient, in their language, and the audit
event written. Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core.auth import has_control_characters
from core.events import publish
from core.privacy import row_dict
from enrollment import events
from enrollment.errors import InvalidMessage, NoRecipients, RecipientsChanged
from enrollment.models import (
    ACTIVE_STATUSES,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    MessageAudience,
    MessageDelivery,
    OfferingMessage,
    Participant,
)
from enrollment.services.links import new_token

AUDIENCE_STATUSES = {
    MessageAudience.ALL: ACTIVE_STATUSES,
    MessageAudience.CONFIRMED: (EnrollmentStatus.CONFIRMED,),
    MessageAudience.WAITLISTED: (EnrollmentStatus.WAITLISTED,),
}
SUBJECT_MAX = 150
BODY_MAX = 5000


def clean_text(subject: str, body: str) -> tuple[str, str]:
    """The subject and body as they are kept (trimmed, line ends as ``\\n``); raises
    ``InvalidMessage`` at the field that is empty, too long or not plain text. The subject is
    one line; the body may hold line breaks and tabs."""
    subject = (subject or "").strip()
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    for field, text, limit, extra in (("subject", subject, SUBJECT_MAX, ""),
                                      ("body", body, BODY_MAX, "\n\t")):
        if not text:
            raise InvalidMessage(code=f"message_{field}_missing", field=field)
        if len(text) > limit:
            raise InvalidMessage(code=f"message_{field}_long", field=field, max=limit)
        if has_control_characters("".join(ch for ch in text if ch not in extra)):
            raise InvalidMessage(code="message_control_characters", field=field)
    return subject, body


def _audience(offering_id: int, audience: MessageAudience) -> sa.Select:
    return (sa.select(Enrollment).join(Enrollment.participant)
            .where(Enrollment.offering_id == offering_id,
                   Enrollment.status.in_(AUDIENCE_STATUSES[MessageAudience(audience)]),
                   Participant.email != ""))  # an anonymised person has no address left


def count_recipients(session: Session, offering_id: int, audience: MessageAudience) -> int:
    """How many enrollments a message to ``audience`` would reach now."""
    query = _audience(offering_id, audience).with_only_columns(sa.func.count(Enrollment.id))
    return session.scalar(query) or 0


def recipients(session: Session, offering_id: int, audience: MessageAudience
               ) -> list[Enrollment]:
    """The enrollments a message to ``audience`` reaches now, in arrival order."""
    return list(session.scalars(
        _audience(offering_id, audience).options(joinedload(Enrollment.participant))
        .order_by(Enrollment.arrived_at, Enrollment.id)))


def send(session: Session, offering: CourseOffering, *, subject: str, body: str,
         audience: MessageAudience, actor, now: datetime, expected: int | None = None
         ) -> OfferingMessage:
    """Send a message to the offering's ``audience``: the message, a delivery and a fresh
    manage link per recipient, then ``message_sent``. ``expected`` is the number of recipients
    staff were shown; when it differs now, nothing is sent (``RecipientsChanged``)."""
    subject, body = clean_text(subject, body)
    audience = MessageAudience(audience)
    reached = recipients(session, offering.id, audience)
    if not reached:
        raise NoRecipients()
    if expected is not None and expected != len(reached):
        raise RecipientsChanged(len(reached))
    message = OfferingMessage(offering=offering, author_id=getattr(actor, "id", None),
                              subject=subject, body=body, audience=audience,
                              recipient_count=len(reached), created_at=now)
    session.add(message)
    session.flush()
    deliveries = []
    for enrollment in reached:
        token, digest = new_token()
        session.add(ManageLink(enrollment_id=enrollment.id, token_hash=digest, created_at=now))
        session.add(MessageDelivery(message_id=message.id, enrollment_id=enrollment.id))
        deliveries.append((enrollment, token))
    session.flush()
    publish(events.message_sent, session, message=message, deliveries=deliveries, actor=actor)
    return message


def sent(session: Session, offering_id: int) -> list[OfferingMessage]:
    """The messages sent to the offering's participants, newest first, with their authors."""
    return list(session.scalars(
        sa.select(OfferingMessage).where(OfferingMessage.offering_id == offering_id)
        .options(joinedload(OfferingMessage.author))
        .order_by(OfferingMessage.created_at.desc(), OfferingMessage.id.desc())))


def received(session: Session, enrollment_id: int) -> list[OfferingMessage]:
    """The messages sent to one enrollment, newest first."""
    return list(session.scalars(
        sa.select(OfferingMessage)
        .join(MessageDelivery, MessageDelivery.message_id == OfferingMessage.id)
        .where(MessageDelivery.enrollment_id == enrollment_id)
        .order_by(OfferingMessage.created_at.desc(), OfferingMessage.id.desc())))


# --- personal data (``services.privacy``) ---------------------------------------------------------


def export(session: Session, enrollment_ids: list[int]) -> list[dict]:
    """The deliveries to the enrollments, each with the message it brought (its subject, text
    and time; not who wrote it: a staff member's account is not the person's data)."""
    rows = session.execute(
        sa.select(MessageDelivery, OfferingMessage)
        .join(OfferingMessage, OfferingMessage.id == MessageDelivery.message_id)
        .where(MessageDelivery.enrollment_id.in_(enrollment_ids))
        .order_by(OfferingMessage.created_at, MessageDelivery.id))
    return [{**row_dict(delivery), "offering_id": message.offering_id,
             "subject": message.subject, "body": message.body,
             "sent_at": row_dict(message)["created_at"]} for delivery, message in rows]


def forget(session: Session, enrollment_ids: list[int]) -> int:
    """Remove the deliveries to the enrollments (the messages stay for the others they
    reached); returns how many."""
    removed = session.execute(
        sa.delete(MessageDelivery).where(MessageDelivery.enrollment_id.in_(enrollment_ids))
        .execution_options(synchronize_session=False)).rowcount
    session.flush()
    return removed
