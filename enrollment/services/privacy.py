"""Enrollment's personal data: what it holds about a participant, how it is anonymised, who is
due for the purge, and participants' requests for erasure.

Registered with ``core.privacy`` at ``init_app``. Anonymising keeps what statistics need: the
role, language, enrollment status and dates, attendance (certificates are the certificates
plugin's: ``certificates/privacy.py``). The audit log is never changed: it is the record of
what staff did, and no code path updates it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.audit import AuditEvent
from core.auth import StaffUser
from core.mail import MailStatus, OutboxMessage
from core.privacy import (
    Anonymisation,
    PersonResult,
    Provider,
    Retention,
    anonymise_person,
    register_provider,
    row_dict,
)
from enrollment.models import (
    Attendance,
    CourseOffering,
    CourseSession,
    EmailChange,
    Enrollment,
    ErasureRequest,
    ErasureStatus,
    ManageLink,
    Participant,
    PrivacyLink,
)
from enrollment.services import messages
from enrollment.services.links import ParticipantActor, withdraw_all_links
from enrollment.services.people import merged_ids

# Links in mails open an enrollment or reset a password: never hand them out in an export.
_SECRET_LINK = re.compile(
    r"(/manage/|/password/reset/|/email-change/|/personal-data/)[A-Za-z0-9_.\-]+")
REDACTED = "[removed]"


# --- export ------------------------------------------------------------------------------------


def _enrollments(session: Session, person_id: int) -> list[Enrollment]:
    return list(session.scalars(sa.select(Enrollment).where(
        Enrollment.participant_id == person_id).order_by(Enrollment.id)))


def _mail_row(message: OutboxMessage) -> dict:
    row = row_dict(message, exclude=("attachments", "claim_token", "locked_until"))
    for name in ("body_text", "body_html"):
        if row[name]:
            row[name] = _SECRET_LINK.sub(lambda m: m.group(1) + REDACTED, row[name])
    # The facts of a recorded mail may hold a fresh link's token: never hand it out either.
    if row.get("params"):
        row["params"] = {k: REDACTED if "token" in k else v for k, v in row["params"].items()}
    row["attachments"] = [{"filename": a.get("filename"), "content_type": a.get("content_type")}
                          for a in message.attachments or []]
    return row


def _mail_about(session: Session, person: Participant) -> list[OutboxMessage]:
    """Mail queued about the person: linked to their participant row when it was queued
    (``queue_mail(about=...)``), never found by matching an address, which anyone may have
    typed. Mail queued before the link existed (no ``subject_type``) is in no export."""
    return list(session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.subject_type == "participant", OutboxMessage.subject_id == person.id)
        .order_by(OutboxMessage.id)))


def _legacy_mail_to(session: Session, person: Participant) -> list[OutboxMessage]:
    """Mail from before the link, to the person's address since they enrolled: only ever
    deleted by the purge and erasure, never exported (unless the address is a staff
    member's)."""
    if not person.email or session.scalar(
            sa.select(StaffUser.id).where(StaffUser.email == person.email)) is not None:
        return []
    return list(session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.subject_type.is_(None), OutboxMessage.to_address == person.email,
        OutboxMessage.created_at >= person.created_at).order_by(OutboxMessage.id)))


def audit_events_about(session: Session, pairs: list[tuple[str, list[int]]]) -> list[dict]:
    """The audit events about the given objects ((object_type, ids) pairs), without the staff
    member's address and IP address."""
    conditions = [sa.and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(ids))
                  for kind, ids in pairs if ids]
    if not conditions:
        return []
    events = session.scalars(sa.select(AuditEvent).where(sa.or_(*conditions))
                             .order_by(AuditEvent.id))
    return [row_dict(e, exclude=("actor_email", "ip_address")) for e in events]


def export(session: Session, person_id: int) -> dict[str, list[dict]]:
    """Every row of enrollment's tables (and the mail and audit log) about the person."""
    person = session.get(Participant, person_id)
    if person is None:
        return {}
    enrollments = _enrollments(session, person_id)
    enrollment_ids = [e.id for e in enrollments]
    attendances = session.scalars(sa.select(Attendance).where(
        Attendance.enrollment_id.in_(enrollment_ids)))
    manage_links = session.scalars(sa.select(ManageLink).where(
        ManageLink.enrollment_id.in_(enrollment_ids)).order_by(ManageLink.id))
    links = session.scalars(sa.select(PrivacyLink).where(
        PrivacyLink.participant_id == person_id).order_by(PrivacyLink.id))
    requests = session.scalars(sa.select(ErasureRequest).where(
        ErasureRequest.participant_id == person_id).order_by(ErasureRequest.id))
    changes = session.scalars(sa.select(EmailChange).where(
        EmailChange.participant_id == person_id).order_by(EmailChange.id))
    return {
        "participants": [row_dict(person)],
        "enrollments": [row_dict(e) for e in enrollments],
        # When each link was made and withdrawn; never the hash, which could be tried offline.
        "manage_links": [row_dict(link, exclude=("token_hash",)) for link in manage_links],
        "attendances": [row_dict(a) for a in attendances],
        "erasure_requests": [row_dict(r) for r in requests],
        # Asked changes of address; never the hashes of their links.
        "email_changes": [row_dict(c, exclude=("confirm_hash", "cancel_hash")) for c in changes],
        "privacy_links": [row_dict(link, exclude=("token_hash",)) for link in links],
        # The messages from staff the person was sent (their manage pages list them).
        "message_deliveries": messages.export(session, enrollment_ids),
        "outbox_messages": [_mail_row(m) for m in _mail_about(session, person)],
        # Events about participants merged into the person stay under their old ids.
        "audit_events": audit_events_about(session, [
            ("participant", [person_id, *merged_ids(session, person_id)]),
            ("enrollment", enrollment_ids)]),
    }


# --- anonymisation -----------------------------------------------------------------------------


def _set(obj, **values) -> int:
    """Set the values that differ; 1 if anything changed."""
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    for name, value in changed.items():
        setattr(obj, name, value)
    return 1 if changed else 0


def anonymise(session: Session, person_id: int, plan: Anonymisation) -> Counter:
    """Remove the person's details, keeping the name while a hold keeps part of their data."""
    counts: Counter = Counter()
    person = session.get(Participant, person_id)
    if person is None:
        return counts
    for message in _mail_about(session, person) + _legacy_mail_to(session, person):
        if message.status != MailStatus.PENDING and message.created_at < plan.mail_cutoff:
            session.delete(message)
            counts["outbox_messages deleted"] += 1
    for change in session.scalars(sa.select(EmailChange).where(
            EmailChange.participant_id == person_id)):
        session.delete(change)
        counts["email_changes deleted"] += 1
    for link in session.scalars(sa.select(PrivacyLink).where(
            PrivacyLink.participant_id == person_id)):
        session.delete(link)
        counts["privacy_links deleted"] += 1
    enrollments = _enrollments(session, person_id)
    delivered = messages.forget(session, [e.id for e in enrollments])
    if delivered:
        counts["message_deliveries deleted"] += delivered
    for enrollment in enrollments:
        # What was given with the enrollment goes too, except what statistics keep.
        given = enrollment.given_details and {k: enrollment.given_details.get(k)
                                              for k in ("role", "locale")}
        changed = _set(enrollment, needs="", status_reason="", given_details=given)
        # Every manage link stops working: nothing is left there for the person to see.
        if withdraw_all_links(session, enrollment.id, plan.now) or person.anonymised_at is None:
            changed = 1
        counts["enrollments"] += changed
    changed = _set(person, email="", phone="", hpr_number=None, employer="")
    if not plan.held:
        changed |= _set(person, full_name="")
    if changed or person.anonymised_at is None:
        counts["participants"] += 1
        person.anonymised_at = person.anonymised_at or plan.now
    return counts


def due(session: Session, retention: Retention) -> list[int]:
    """Participants whose every course ended before the cutoff and who still hold details
    (never anonymised, or their name kept by a hold that may have ended)."""
    last_day = (sa.select(CourseSession.offering_id,
                          sa.func.max(CourseSession.ends_at).label("ended_at"))
                .group_by(CourseSession.offering_id).subquery())
    ended = sa.func.coalesce(last_day.c.ended_at, CourseOffering.enroll_closes_at)
    still_running = (sa.select(Enrollment.participant_id)
                     .join(CourseOffering, CourseOffering.id == Enrollment.offering_id)
                     .outerjoin(last_day, last_day.c.offering_id == CourseOffering.id)
                     .where(ended >= retention.cutoff))
    return list(session.scalars(
        sa.select(Participant.id)
        .where(Participant.id.in_(sa.select(Enrollment.participant_id)),
               Participant.id.not_in(still_running),
               sa.or_(Participant.anonymised_at.is_(None), Participant.full_name != ""))
        .order_by(Participant.id)))


# --- erasure requests --------------------------------------------------------------------------


def pending_request(session: Session, person_id: int) -> ErasureRequest | None:
    """The person's request for erasure that staff have not yet confirmed."""
    return session.scalar(sa.select(ErasureRequest).where(
        ErasureRequest.participant_id == person_id,
        ErasureRequest.status == ErasureStatus.PENDING).order_by(ErasureRequest.id).limit(1))


def request_erasure(session: Session, enrollment: Enrollment, now: datetime
                    ) -> list[ErasureRequest]:
    """Record the request for erasure of the person of ``enrollment``, covering all their
    enrollments: one request for each county the person has enrollments in (so every office
    concerned sees it), the county of ``enrollment`` first; a county that has a pending
    request already gets no second one. Returns the person's pending requests."""
    person_id = enrollment.participant_id
    rows = session.execute(
        sa.select(CourseOffering.county_id, sa.func.max(Enrollment.id))
        .join(Enrollment, Enrollment.offering_id == CourseOffering.id)
        .where(Enrollment.participant_id == person_id)
        .group_by(CourseOffering.county_id)).all()
    asked_county = session.scalar(sa.select(CourseOffering.county_id).where(
        CourseOffering.id == enrollment.offering_id))
    latest = {county: (enrollment.id if county == asked_county else last)
              for county, last in rows}
    waiting = set(session.scalars(sa.select(ErasureRequest.county_id).where(
        ErasureRequest.participant_id == person_id,
        ErasureRequest.status == ErasureStatus.PENDING)))
    for county_id in sorted(latest, key=lambda c: (c != asked_county, c)):
        if county_id in waiting:
            continue
        request = ErasureRequest(participant_id=person_id, enrollment_id=latest[county_id],
                                 county_id=county_id, requested_at=now)
        session.add(request)
        session.flush()
        audit.record(session, actor=ParticipantActor(), action="privacy.erasure_requested",
                     object_type="participant", object_id=person_id,
                     county_id=county_id, after={"request": request.id})
    return list(session.scalars(sa.select(ErasureRequest).where(
        ErasureRequest.participant_id == person_id,
        ErasureRequest.status == ErasureStatus.PENDING).order_by(ErasureRequest.id)))


def pending_requests(session: Session, scope) -> list[ErasureRequest]:
    """Pending requests within ``scope`` (a condition on the county), oldest first."""
    return list(session.scalars(
        sa.select(ErasureRequest)
        .where(ErasureRequest.status == ErasureStatus.PENDING, scope)
        .options(joinedload(ErasureRequest.participant),
                 joinedload(ErasureRequest.enrollment).joinedload(Enrollment.offering)
                 .joinedload(CourseOffering.county))
        .order_by(ErasureRequest.requested_at, ErasureRequest.id)))


def confirm_erasure(
    session: Session, request: ErasureRequest, *, actor, now: datetime, retention: Retention,
) -> PersonResult:
    """Anonymise the person now in every plugin (the name on certificates too, unless a hold
    keeps it); audited."""
    result = anonymise_person(session, request.participant_id, now=now, retention=retention,
                              erasure=True, actor=actor)
    for pending in session.scalars(sa.select(ErasureRequest).where(
            ErasureRequest.participant_id == request.participant_id,
            ErasureRequest.status == ErasureStatus.PENDING)):
        pending.status = ErasureStatus.CONFIRMED
        pending.confirmed_at, pending.confirmed_by_id = now, getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor=actor, action="privacy.erasure_confirmed",
                 object_type="participant", object_id=request.participant_id,
                 county_id=request.county_id,
                 after={"request": request.id, "changed": dict(result.counts),
                        "kept": [{"ref": h.ref, "until": h.until} for h in result.holds]})
    return result


def register(app: Flask) -> None:
    """Register enrollment's personal data with the privacy registry."""
    register_provider(app, Provider(name="enrollment", export=export, anonymise=anonymise,
                                    due=due))
