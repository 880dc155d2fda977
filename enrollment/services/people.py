"""One participant per person: a new enrollment's participant, and the merge of participants
into the person once their address is confirmed.

Anyone can type anyone's address on the enrollment form, so an enrollment never joins an
existing person by its address: it gets a participant of its own (``new_participant``), with
the address unconfirmed. When the holder of the address opens a link mailed to it (a privacy
link, a change of address), ``confirm_address`` makes the address confirmed, and if another
participant already holds it confirmed, merges this one into that person: its enrollments,
requests for erasure, changes of address, privacy links and the mail about it then belong to
the person, and its row goes. The details given with each enrollment stay on the enrollment
(``Enrollment.given_details``); the person's current details are the newest given.

Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditEvent
from core.mail import OutboxMessage
from enrollment.models import (
    EmailChange,
    Enrollment,
    ErasureRequest,
    Participant,
    PrivacyLink,
    about,
)
from enrollment.services.links import ParticipantActor

# The details a person gives with an enrollment; the person row holds the newest of them.
DETAILS = ("full_name", "phone", "role", "hpr_number", "employer", "locale")
MERGED = "privacy.participants_merged"


def new_participant(session: Session, person, now: datetime | None = None) -> Participant:
    """The participant of a new enrollment, from the details given (``PersonDetails``), with
    its address not yet confirmed; added to the session, not flushed."""
    participant = Participant(
        full_name=person.full_name, email=person.email.strip().lower(), phone=person.phone,
        role=person.role, hpr_number=person.hpr_number or None, employer=person.employer,
        locale=person.locale,
    )
    if now is not None:
        participant.created_at = now
    session.add(participant)
    return participant


def details(participant: Participant) -> dict:
    """The details of ``participant`` as ``Enrollment.given_details`` keeps them."""
    return audit.snapshot(participant, list(DETAILS))


def confirmed_holder(session: Session, email: str, *, besides: int | None = None
                     ) -> Participant | None:
    """The person who holds ``email`` confirmed (never an erased one: erasure blanks it)."""
    if not email:
        return None
    query = sa.select(Participant).where(Participant.email == email,
                                         Participant.email_confirmed_at.is_not(None))
    if besides is not None:
        query = query.where(Participant.id != besides)
    return session.scalar(query.order_by(Participant.id).limit(1))


def confirm_address(session: Session, participant: Participant, now: datetime) -> Participant:
    """The holder of ``participant.email`` opened a link mailed to it: the address is confirmed,
    and the participant is merged into the person already holding it, if any. Returns the
    person (``participant`` itself, or the one it was merged into)."""
    holder = confirmed_holder(session, participant.email, besides=participant.id)
    if holder is None:
        if participant.email_confirmed_at is None:
            participant.email_confirmed_at = now
            session.flush()
        return participant
    merge(session, participant, into=holder, now=now)
    return holder


def _keep_given(session: Session, participant: Participant) -> None:
    given = details(participant)
    session.execute(sa.update(Enrollment).where(
        Enrollment.participant_id == participant.id, Enrollment.given_details.is_(None))
        .values(given_details=given).execution_options(synchronize_session=False))


def merge(session: Session, source: Participant, *, into: Participant, now: datetime) -> None:
    """Move everything of ``source`` to the person ``into`` and remove ``source``; the person
    takes the newer participant's details. Audited as the participant's act."""
    session.flush()
    _keep_given(session, source)
    _keep_given(session, into)
    moved = list(session.scalars(
        sa.select(Enrollment.id).where(Enrollment.participant_id == source.id)))
    for table, column in ((Enrollment, Enrollment.participant_id),
                          (ErasureRequest, ErasureRequest.participant_id),
                          (EmailChange, EmailChange.participant_id),
                          (PrivacyLink, PrivacyLink.participant_id)):
        session.execute(sa.update(table).where(column == source.id)
                        .values(participant_id=into.id)
                        .execution_options(synchronize_session=False))
    session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.subject_type == about(source)[0], OutboxMessage.subject_id == source.id)
        .values(subject_id=into.id).execution_options(synchronize_session=False))
    # What the session holds of the moved rows is stale now: read it again.
    session.expire_all()
    if (source.created_at, source.id) > (into.created_at, into.id):
        for name in DETAILS:
            setattr(into, name, getattr(source, name))
    into.email_confirmed_at = into.email_confirmed_at or now
    source_id = source.id
    session.delete(source)
    session.flush()
    audit.record(session, actor=ParticipantActor(), action=MERGED, object_type="participant",
                 object_id=into.id, county_id=None,
                 after={"merged": [source_id], "enrollments": moved})


def merged_ids(session: Session, person_id: int) -> list[int]:
    """The ids of the participants merged into the person (from the audit log, which keeps
    what was recorded about them under their old ids)."""
    found: list[int] = []
    for after in session.scalars(sa.select(AuditEvent.after).where(
            AuditEvent.action == MERGED, AuditEvent.object_type == "participant",
            AuditEvent.object_id == person_id)):
        found.extend(int(i) for i in (after or {}).get("merged", []))
    return found
