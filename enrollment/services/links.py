"""Manage links: the private links that open a participant's enrollment.

A token is 256 random bits, mailed once and stored only as its SHA-256 (``ManageLink``). An
enrollment may hold several working links: asking for one ("Lost your link?") adds a link and
never withdraws the others, so someone who only knows an address cannot cut a participant off.
From a working link the participant may withdraw all the others (after forwarding a mail by
mistake); the privacy purge and erasure withdraw them all.

Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core.events import publish
from enrollment import events
from enrollment.models import ACTIVE_STATUSES, CourseOffering, Enrollment, ManageLink, Participant


class ParticipantActor:
    """The participant as the actor of an audit event (they have no staff account)."""

    id = None
    email = "participant"


def hash_token(token: str) -> str:
    """The stored form of a manage token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh 256-bit manage token and its hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def _usable(token: str) -> bool:
    return bool(token) and len(token) <= 100 and token.isascii()


def find_by_token(session: Session, token: str) -> Enrollment | None:
    """The enrollment a working (not withdrawn) manage link opens, or None; compares hashes
    in constant time."""
    if not _usable(token):
        return None
    wanted = hash_token(token)
    row = session.execute(
        sa.select(Enrollment, ManageLink.token_hash)
        .join(ManageLink, ManageLink.enrollment_id == Enrollment.id)
        .where(ManageLink.token_hash == wanted, ManageLink.withdrawn_at.is_(None))
        .options(
            joinedload(Enrollment.participant),
            joinedload(Enrollment.offering).joinedload(CourseOffering.county),
            joinedload(Enrollment.offering).joinedload(CourseOffering.kind),
            joinedload(Enrollment.offering).selectinload(CourseOffering.sessions),
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row.Enrollment


def issue_link(session: Session, enrollment: Enrollment, now: datetime | None = None) -> str:
    """Give the enrollment one more working link and return its token; the links it already
    has keep working."""
    token, digest = new_token()
    link = ManageLink(enrollment_id=enrollment.id, token_hash=digest)
    if now is not None:
        link.created_at = now
    session.add(link)
    session.flush()
    return token


def other_link_count(session: Session, enrollment: Enrollment, token: str) -> int:
    """How many working links the enrollment has besides the one of ``token``."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(ManageLink).where(
            ManageLink.enrollment_id == enrollment.id, ManageLink.withdrawn_at.is_(None),
            ManageLink.token_hash != hash_token(token))
    ) or 0


def withdraw_other_links(
    session: Session, enrollment: Enrollment, token: str, now: datetime
) -> int:
    """Withdraw every working link of the enrollment except the one of ``token`` (the link the
    participant is using); returns how many were withdrawn (``links_withdrawn``, audited as the
    participant's act)."""
    withdrawn = session.execute(
        sa.update(ManageLink)
        .where(ManageLink.enrollment_id == enrollment.id, ManageLink.withdrawn_at.is_(None),
               ManageLink.token_hash != hash_token(token))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    if withdrawn:
        publish(events.links_withdrawn, session, enrollment=enrollment, withdrawn=withdrawn)
    return withdrawn


def withdraw_all_links(session: Session, enrollment_id: int, now: datetime) -> int:
    """Withdraw every working link of an enrollment (privacy purge, erasure); returns how many."""
    withdrawn = session.execute(
        sa.update(ManageLink)
        .where(ManageLink.enrollment_id == enrollment_id, ManageLink.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    return withdrawn


def move_links(session: Session, source: Enrollment, target: Enrollment) -> None:
    """Let the links of ``source`` open ``target`` instead (a staff move to another offering),
    so the links the participant already has open their new enrollment."""
    session.execute(
        sa.update(ManageLink).where(ManageLink.enrollment_id == source.id)
        .values(enrollment_id=target.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire(source, ["manage_links"])
    session.expire(target, ["manage_links"])


def active_enrollments_for_email(session: Session, email: str) -> list[Enrollment]:
    """Every active enrollment made with ``email`` (for re-sending manage links)."""
    return list(
        session.scalars(
            sa.select(Enrollment)
            .join(Enrollment.participant)
            .where(
                Participant.email == email.strip().lower(),
                Enrollment.status.in_(ACTIVE_STATUSES),
            )
            .options(
                joinedload(Enrollment.participant),
                joinedload(Enrollment.offering).joinedload(CourseOffering.county),
                joinedload(Enrollment.offering).joinedload(CourseOffering.kind),
            )
            .order_by(Enrollment.id)
        )
    )
