"""Links that deliver a person's data or file their request for erasure, mailed to the person's
address.

From any manage link the person may ask for an export or an erasure (``ask``); that only mails
a one-time link to the participant's address (recorded mail, ``enrollment.privacy_link``) and
tells the page nothing more. Opening the link (a POST: a mail scanner's GET changes nothing)
proves the address is the opener's: the address becomes confirmed and the participant joins the
person holding it (``people.confirm_address``), and the link then delivers the export of the
whole person or files their request for erasure for every enrollment.

Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from enrollment.mail import links as link_mail
from enrollment.models import (
    Enrollment,
    Participant,
    PrivacyLink,
    PrivacyPurpose,
)
from enrollment.services import privacy
from enrollment.services.links import hash_token, new_token
from enrollment.services.people import confirm_address

VALID_FOR = timedelta(hours=24)


def ask(session: Session, enrollment: Enrollment, purpose: PrivacyPurpose,
        now: datetime) -> PrivacyLink | None:
    """Mail a link for ``purpose`` to the address of the enrollment's participant; None when
    there is no address left (erased)."""
    person = enrollment.participant
    if not person.email:
        return None
    token, digest = new_token()
    link = PrivacyLink(participant_id=person.id, enrollment_id=enrollment.id, purpose=purpose,
                       email=person.email, token_hash=digest, created_at=now,
                       expires_at=now + VALID_FOR)
    session.add(link)
    session.flush()
    link_mail.record_privacy_link(session, link, token)
    return link


def find(session: Session, token: str, now: datetime) -> PrivacyLink | None:
    """The usable link of ``token``: not used, not expired, and its address still the
    participant's."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    link = session.scalar(sa.select(PrivacyLink).where(
        PrivacyLink.token_hash == hash_token(token))
        .options(joinedload(PrivacyLink.participant), joinedload(PrivacyLink.enrollment)))
    if link is None or not link.usable(now) or link.participant.email != link.email:
        return None
    return link


def use(session: Session, link: PrivacyLink, now: datetime) -> Participant:
    """Open the link: it works once, the address is confirmed, and the participant joins the
    person who holds it. For an erasure link the request is filed for the whole person.
    Returns the person."""
    link.used_at = now
    session.flush()
    person = confirm_address(session, link.participant, now)
    if link.purpose == PrivacyPurpose.ERASURE:
        privacy.request_erasure(session, session.get(Enrollment, link.enrollment_id), now)
    return person
