"""The time and completion rules, checked on certificates as issued and on attendance as
recorded: whether a certificate may be presented as valid (``breaches``), and the audit that
lists every certificate and attendance mark breaking them (``flask certificates audit``).

A certificate counts only sessions that had ended when it was issued, and an automatic one
must meet the completion rule with them; one issued by hand without the rule met must not be
dated before the course's last session ended. An attendance mark must not be older than the
start of its session. Read-only: nothing here changes a row.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from certificates.models import Certificate
from core.collation import sort_key
from enrollment.models import Attendance, CourseOffering, CourseSession, Enrollment


class Breach(enum.StrEnum):
    """How an existing certificate breaks the time and completion rules."""

    # It states a session that had not ended when it was issued, or, issued by hand without
    # the rule met, it was issued before the course's last session ended.
    ISSUED_EARLY = "issued_early"
    # Issued automatically, yet the sessions it counts that had ended do not meet the rule.
    NOT_COMPLETED = "not_completed"


def breaches(certificate: Certificate, offering: CourseOffering | None = None,
             ) -> tuple[Breach, ...]:
    """The rules ``certificate`` breaks, read from what it states (its snapshot), so later
    edits of the offering change nothing. Snapshots from before the rules lack the required
    count and the course's end: those are read from ``offering`` (kind and sessions loaded;
    the certificate's own when None)."""
    snap, issued_at = certificate.snapshot, certificate.issued_at
    ends = [datetime.fromisoformat(s["ends_at"]) for s in snap.get("sessions", ())]
    counted = sum(1 for end in ends if end <= issued_at)
    found = []
    if any(end > issued_at for end in ends):
        found.append(Breach.ISSUED_EARLY)
    required, course_end = snap.get("required"), snap.get("course_ends_at")
    if required is None or course_end is None:
        offering = offering or certificate.enrollment.offering
        if required is None:
            required = required_count(snap["by_share"], snap["total"], offering.min_share_percent)
        if course_end is None:
            course_end = max((s.ends_at for s in offering.sessions), default=issued_at)
    if isinstance(course_end, str):
        course_end = datetime.fromisoformat(course_end)
    met = rule_met(snap["total"], counted, required)
    if not met:
        if not certificate.manual_reason:
            found.append(Breach.NOT_COMPLETED)
        elif issued_at < course_end and Breach.ISSUED_EARLY not in found:
            found.append(Breach.ISSUED_EARLY)
    return tuple(found)


def required_count(by_share: bool, total: int, min_share_percent: int) -> int:
    """How many sessions must be attended: all, or the minimum share rounded up."""
    return math.ceil(total * min_share_percent / 100) if by_share else total


def rule_met(total: int, attended: int, required: int) -> bool:
    """Whether ``attended`` of ``total`` sessions meet a rule asking ``required``: the one test
    of completion, for attendance as it stands (``Completion.met``) and as a certificate
    states it (``breaches``)."""
    return total > 0 and attended >= required


# --- the audit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFinding:
    """A certificate, not revoked, that breaks the rules."""

    certificate_id: int
    code: str
    participant: str
    course: str
    county: str
    issued_at: datetime
    by_hand: bool
    breaches: tuple[Breach, ...]


@dataclass(frozen=True)
class EarlyMark:
    """An attendance mark recorded before its session began."""

    enrollment_id: int
    session_id: int
    participant: str
    course: str
    county: str
    present: bool
    marked_at: datetime
    starts_at: datetime


@dataclass(frozen=True)
class RuleAudit:
    """Everything the audit found, for one county or all."""

    certificates: tuple[CertificateFinding, ...]
    early_marks: tuple[EarlyMark, ...]


def audit_rules(session: Session, county_id: int | None = None) -> RuleAudit:
    """Every certificate that is not revoked and breaks the rules, and every attendance mark
    recorded before its session began, of one county's offerings or all, in a fixed number
    of queries. Changes nothing: an office revokes (or issues again) on the staff pages."""
    where = [] if county_id is None else [CourseOffering.county_id == county_id]
    certificates = session.scalars(
        sa.select(Certificate).join(Certificate.enrollment).join(Enrollment.offering)
        .where(Certificate.revoked_at.is_(None), *where)
        .options(joinedload(Certificate.enrollment).joinedload(Enrollment.offering)
                 .joinedload(CourseOffering.county),
                 joinedload(Certificate.enrollment).joinedload(Enrollment.offering)
                 .joinedload(CourseOffering.kind),
                 joinedload(Certificate.enrollment).joinedload(Enrollment.offering)
                 .selectinload(CourseOffering.sessions))
        .order_by(Certificate.issued_at, Certificate.id)
    ).unique().all()
    found = []
    for certificate in certificates:
        offering = certificate.enrollment.offering
        broken = breaches(certificate, offering)
        if broken:
            found.append(CertificateFinding(
                certificate.id, certificate.code, certificate.snapshot.get("name", ""),
                offering.title(offering.county.default_locale), offering.county.slug,
                certificate.issued_at,
                bool(certificate.manual_reason), broken))
    marks = session.execute(
        sa.select(Attendance, CourseSession.starts_at)
        .join(Attendance.session).join(CourseSession.offering)
        .where(Attendance.marked_at < CourseSession.starts_at, *where)
        .options(joinedload(Attendance.enrollment).joinedload(Enrollment.participant),
                 joinedload(Attendance.session).joinedload(CourseSession.offering)
                 .joinedload(CourseOffering.county),
                 joinedload(Attendance.session).joinedload(CourseSession.offering)
                 .joinedload(CourseOffering.kind))
        .order_by(CourseSession.starts_at, Attendance.session_id, Attendance.enrollment_id)
    ).unique().all()
    early = [
        EarlyMark(mark.enrollment_id, mark.session_id, mark.enrollment.participant.full_name,
                  mark.session.offering.title(mark.session.offering.county.default_locale),
                  mark.session.offering.county.slug,
                  mark.present, mark.marked_at, starts_at)
        for mark, starts_at in marks
    ]
    early.sort(key=lambda m: (m.starts_at, m.session_id, sort_key(m.participant)))
    return RuleAudit(tuple(found), tuple(early))
