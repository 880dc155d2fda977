"""Certificates of attendance: who has earned one, issuing it with a snapshot of what it states,
re-issue and issue by hand, revocation, and lookup by code (``certificate_pages`` turns a
snapshot into words).

The completion rule: a confirmed enrollment whose participant attended every session of a
course, or, for kinds completed by share (group guidance), at least the offering's
``min_share_percent`` of the meetings. Only sessions that have ended count: a present mark on
a course day still under way counts once it is over. So a certificate's date of issue is never
before the end of the last session it counts; issuing by hand without the rule met waits until
the offering's last session has ended. ``breaches`` tells whether an existing certificate
(perhaps issued before these rules) keeps them; one that does not is never shown as valid.

The snapshot holds every fact the certificate prints, with the course, kind, objectives and
office in all three languages, so the participant can download the same certificate in nn, nb
or en, and later edits of the offering, its objectives or the participant change neither the
PDF nor the verification page. Staff re-issue after a correction: the snapshot is taken anew
and the code stays, unless the certificate was revoked.

Plain functions that take a session, flush and never commit. Issuing locks the offering row,
so two requests cannot both issue a first certificate for the same enrollment.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.collation import sort_key
from core.db import utcnow
from core.i18n import LOCALES, OSLO
from enrollment.attendance import ATTENDED
from enrollment.certificate_rules import Breach, breaches, required_count
from enrollment.models import (
    Attendance,
    Certificate,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
)
from enrollment.services import lock_offering

# Crockford's base 32: digits and capitals without I, L, O and U, which are read wrongly.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
# What people type for the letters left out.
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")
SNAPSHOT_VERSION = 1
MAX_REASON = 2000


class CertificateError(Exception):
    """A certificate operation that the rules do not allow."""


class NotCompleted(CertificateError):
    """The participant has not met the completion rule."""


class NotIssuable(CertificateError):
    """Only confirmed enrollments get certificates."""


class CertificateRevoked(CertificateError):
    """The enrollment's certificate was revoked; only staff can issue a new one."""


class AlreadyRevoked(CertificateError):
    """The certificate is revoked already."""


class ReasonRequired(CertificateError):
    """Issuing by hand and revoking need a reason."""


class BreachesRules(CertificateError):
    """The enrollment's certificate breaks the time or completion rules: it is not valid
    until staff issue it again or revoke it."""


class NotYetEnded(CertificateError):
    """Issued by hand, the certificate must wait until the course's sessions have ended."""

    def __init__(self, ends_at: datetime):
        super().__init__(f"the course ends at {ends_at.isoformat()}")
        self.ends_at = ends_at


# --- codes -------------------------------------------------------------------------------------


def new_code() -> str:
    """A random code of ``CODE_LENGTH`` characters (50 bits) from ``CODE_ALPHABET``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str | None) -> str | None:
    """The code as stored, from what a person typed: any case, spaces and dashes ignored,
    O read as 0 and I or L as 1. None when it cannot be a code."""
    if not raw or len(raw) > 4 * CODE_LENGTH:
        return None
    code = _SEPARATORS.sub("", raw).upper().translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    """The code as printed, in two groups: '7K3M9-QX2WP'."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


# --- the completion rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """How a participant's attendance stands against the offering's completion rule."""

    status: EnrollmentStatus
    by_share: bool
    min_share_percent: int
    sessions: tuple[CourseSession, ...]
    attended_sessions: tuple[CourseSession, ...]
    # Present marks on sessions that have not ended yet: they count once the session is over.
    pending_sessions: tuple[CourseSession, ...] = ()
    now: datetime | None = None

    @property
    def total(self) -> int:
        """How many sessions the offering has."""
        return len(self.sessions)

    @property
    def attended(self) -> int:
        """How many of them the participant attended."""
        return len(self.attended_sessions)

    @property
    def required(self) -> int:
        """How many must be attended: all, or the minimum share rounded up."""
        return required_count(self.by_share, self.total, self.min_share_percent)

    @property
    def met(self) -> bool:
        """Whether the rule is met by ended sessions (only confirmed enrollments can meet it)."""
        return (self.status == EnrollmentStatus.CONFIRMED and self.total > 0
                and self.attended >= self.required)

    @property
    def course_ends_at(self) -> datetime | None:
        """When the offering's last session ends."""
        return max((s.ends_at for s in self.sessions), default=None)

    @property
    def course_ended(self) -> bool:
        """Whether every session of the offering has ended."""
        return (self.now is not None and self.course_ends_at is not None
                and self.course_ends_at <= self.now)

    @property
    def ready_at(self) -> datetime | None:
        """The earliest moment the rule can be met, when it is not met yet: the end of the
        ``required``-th session among those attended or still to end. None when it is met,
        or can no longer be met by attendance."""
        if self.met or self.status != EnrollmentStatus.CONFIRMED or self.now is None:
            return None
        attended = {s.id for s in self.attended_sessions}
        ends = sorted(s.ends_at for s in self.sessions
                      if s.id in attended or s.ends_at > self.now)
        if self.required == 0 or len(ends) < self.required:
            return None
        return ends[self.required - 1]

    @property
    def hand_issue_from(self) -> datetime | None:
        """When staff may issue by hand, if not now: after the course's last session, unless
        the rule is met already."""
        if self.met or self.course_ended:
            return None
        return self.course_ends_at


def completion_from(enrollment: Enrollment, present_session_ids: Iterable[int],
                    now: datetime) -> Completion:
    """The completion of ``enrollment`` at ``now`` given the ids of the sessions it was marked
    present at (its offering's sessions and kind loaded); sessions not ended don't count."""
    present = set(present_session_ids)
    offering = enrollment.offering
    sessions = tuple(offering.sessions)
    return Completion(
        status=enrollment.status, by_share=offering.kind.completion_by_share,
        min_share_percent=offering.min_share_percent, sessions=sessions,
        attended_sessions=tuple(s for s in sessions if s.id in present and s.ends_at <= now),
        pending_sessions=tuple(s for s in sessions if s.id in present and s.ends_at > now),
        now=now,
    )


def completion(session: Session, enrollment: Enrollment,
               now: datetime | None = None) -> Completion:
    """The completion of one enrollment at ``now`` (default: the present moment), from its
    attendance marks."""
    present = session.scalars(
        sa.select(Attendance.session_id).where(Attendance.enrollment_id == enrollment.id,
                                               ATTENDED))
    return completion_from(enrollment, present, now or utcnow())


# --- reading -----------------------------------------------------------------------------------


def latest_certificate(session: Session, enrollment_id: int) -> Certificate | None:
    """The enrollment's most recent certificate, revoked or not."""
    return session.scalar(
        sa.select(Certificate).where(Certificate.enrollment_id == enrollment_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(1))


def latest_by_enrollment(session: Session, offering_id: int) -> dict[int, Certificate]:
    """The most recent certificate of each enrollment of an offering, in one query."""
    rows = session.scalars(
        sa.select(Certificate).join(Certificate.enrollment)
        .where(Enrollment.offering_id == offering_id)
        .order_by(Certificate.issued_at, Certificate.id))
    return {c.enrollment_id: c for c in rows}


def find_by_code(session: Session, raw: str | None) -> Certificate | None:
    """The certificate a typed or scanned code names, if any."""
    code = normalise_code(raw)
    if code is None:
        return None
    return session.scalar(sa.select(Certificate).where(Certificate.code == code))


@dataclass(frozen=True)
class CertificateStatus:
    """What the participant's own page says about the certificate."""

    completion: Completion
    certificate: Certificate | None
    breaches: tuple[Breach, ...] = ()

    @property
    def downloadable(self) -> bool:
        """A valid certificate exists or will be issued on download."""
        if self.certificate is not None:
            return not self.certificate.is_revoked and not self.breaches
        return self.completion.met

    @property
    def withheld(self) -> bool:
        """The latest certificate is not revoked but breaks the rules."""
        return (self.certificate is not None and not self.certificate.is_revoked
                and bool(self.breaches))

    @property
    def revoked(self) -> bool:
        """The latest certificate was revoked."""
        return self.certificate is not None and self.certificate.is_revoked


def status_for(session: Session, enrollment: Enrollment,
               now: datetime | None = None) -> CertificateStatus:
    """The certificate facts of one enrollment for its manage page (offering, kind and
    sessions loaded)."""
    certificate = latest_certificate(session, enrollment.id)
    found = breaches(certificate, enrollment.offering) if certificate is not None else ()
    return CertificateStatus(completion(session, enrollment, now), certificate, found)


# --- issuing -----------------------------------------------------------------------------------


def _load_for_issue(session: Session, enrollment_id: int) -> Enrollment:
    """Lock the enrollment's offering, then load the enrollment with all the snapshot needs."""
    offering_id = session.scalar(
        sa.select(Enrollment.offering_id).where(Enrollment.id == enrollment_id))
    if offering_id is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    lock_offering(session, offering_id)
    return session.scalar(
        sa.select(Enrollment).where(Enrollment.id == enrollment_id)
        .options(joinedload(Enrollment.participant),
                 joinedload(Enrollment.offering).joinedload(CourseOffering.county),
                 joinedload(Enrollment.offering).joinedload(CourseOffering.kind)
                 .selectinload(CourseKind.objectives),
                 joinedload(Enrollment.offering).selectinload(CourseOffering.sessions))
        .execution_options(populate_existing=True))


def take_snapshot(enrollment: Enrollment, done: Completion, now: datetime) -> dict:
    """Every fact the certificate prints, as JSON, with translatable ones in each language."""
    offering, person = enrollment.offering, enrollment.participant
    kind, county = offering.kind, offering.county
    attended = done.attended_sessions
    return {
        "version": SNAPSHOT_VERSION,
        "name": person.full_name,
        "hpr_number": person.hpr_number or "",
        "role": person.role.value,
        "course_title": {code: offering.title(code) for code in LOCALES},
        "kind_code": kind.code,
        "kind_name": {code: kind.name(code) for code in LOCALES},
        "by_share": done.by_share,
        "cohort": offering.cohort.isoformat() if offering.cohort else None,
        "sessions": [{"starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat()}
                     for s in attended],
        "attended": done.attended,
        "total": done.total,
        "hours": round(sum(s.hours for s in attended), 2),
        "required": done.required,
        "course_ends_at": done.course_ends_at.isoformat() if done.course_ends_at else None,
        # Only objectives an office confirmed, under their official number: a certificate
        # never states an unconfirmed number or wording as official.
        "objectives": [{"code": o.official_number,
                        "text": {code: o.text(code) for code in LOCALES}}
                       for o in kind.objectives if o.printable],
        "office": {code: county.office(code) for code in LOCALES},
        "place": offering.venue or (attended[0].place if attended else ""),
        "issued_on": now.astimezone(OSLO).date().isoformat(),
        "signer_name": offering.signer_name,
        "signer_title": offering.signer_title,
    }


def _unique_code(session: Session) -> str:
    """A code no certificate has yet; with 2^50 codes a collision is rare, but retried."""
    for _attempt in range(20):
        code = new_code()
        if session.scalar(sa.select(Certificate.id).where(Certificate.code == code)) is None:
            return code
    raise RuntimeError("no free certificate code found")


def _create(session: Session, enrollment: Enrollment, done: Completion, now: datetime,
            *, actor=None, reason: str = "") -> Certificate:
    certificate = Certificate(
        enrollment_id=enrollment.id, code=_unique_code(session),
        locale=enrollment.participant.locale, issued_at=now,
        issued_by_id=getattr(actor, "id", None) if reason else None, manual_reason=reason,
        snapshot=take_snapshot(enrollment, done, now),
    )
    session.add(certificate)
    session.flush()
    return certificate


def _audit(session: Session, actor, action: str, certificate: Certificate, enrollment,
           before: dict | None, after: dict) -> None:
    audit.record(session, actor=actor, action=action, object_type="certificate",
                 object_id=certificate.id, county_id=enrollment.offering.county_id,
                 before=before, after=after)


def _summary(certificate: Certificate) -> dict:
    snap = certificate.snapshot
    return {"code": certificate.code, "enrollment_id": certificate.enrollment_id,
            "name": snap["name"], "attended": snap["attended"], "total": snap["total"],
            "issued_on": snap["issued_on"], "manual_reason": certificate.manual_reason}


def issue(session: Session, enrollment_id: int, *, now: datetime) -> Certificate:
    """The enrollment's certificate, issued now if the rule is met by sessions that have
    ended and none was issued before (the participant's download). Raises ``NotCompleted``,
    ``CertificateRevoked`` or ``BreachesRules``."""
    enrollment = _load_for_issue(session, enrollment_id)
    existing = latest_certificate(session, enrollment.id)
    if existing is not None:
        if existing.is_revoked:
            raise CertificateRevoked()
        if breaches(existing, enrollment.offering):
            raise BreachesRules()
        return existing
    done = completion(session, enrollment, now)
    if not done.met:
        raise NotCompleted()
    return _create(session, enrollment, done, now)


def issue_by_hand(session: Session, enrollment_id: int, reason: str, *, actor,
                  now: datetime) -> tuple[Certificate, bool]:
    """Issue a certificate by staff decision, whether or not the rule is met, or re-issue the
    valid one with the details as they are now (after a correction; the code stays).
    Without the rule met by ended sessions, only once the offering's last session has ended
    (``NotYetEnded``). Returns the certificate and whether it was a re-issue. Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    enrollment = _load_for_issue(session, enrollment_id)
    if enrollment.status != EnrollmentStatus.CONFIRMED:
        raise NotIssuable()
    done = completion(session, enrollment, now)
    if done.hand_issue_from is not None:
        raise NotYetEnded(done.hand_issue_from)
    existing = latest_certificate(session, enrollment.id)
    if existing is not None and not existing.is_revoked:
        before = _summary(existing)
        existing.snapshot = take_snapshot(enrollment, done, now)
        existing.issued_at, existing.issued_by_id = now, actor.id
        existing.manual_reason = reason
        existing.locale = enrollment.participant.locale
        session.flush()
        _audit(session, actor, "certificate.reissue", existing, enrollment, before,
               {**_summary(existing), "completed": done.met})
        return existing, True
    certificate = _create(session, enrollment, done, now, actor=actor, reason=reason)
    _audit(session, actor, "certificate.issue_by_hand", certificate, enrollment, None,
           {**_summary(certificate), "completed": done.met})
    return certificate, False


def revoke(session: Session, certificate_id: int, reason: str, *, actor,
           now: datetime) -> Certificate:
    """Withdraw a certificate; its verification page then says so, with the reason. Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    certificate = session.scalar(
        sa.select(Certificate).where(Certificate.id == certificate_id).with_for_update()
        .execution_options(populate_existing=True))
    if certificate is None:
        raise LookupError(f"no certificate {certificate_id}")
    if certificate.is_revoked:
        raise AlreadyRevoked()
    certificate.revoked_at, certificate.revoked_reason = now, reason
    certificate.revoked_by_id = actor.id
    session.flush()
    _audit(session, actor, "certificate.revoke", certificate, certificate.enrollment,
           {"code": certificate.code, "revoked_at": None},
           {"code": certificate.code, "revoked_at": now, "revoked_reason": reason})
    return certificate


def issue_for_offering(session: Session, offering_id: int, *, actor,
                       now: datetime) -> list[Certificate]:
    """Every valid certificate of an offering, for printing: those issued before, and new
    ones for confirmed participants who met the rule by ended sessions and have none yet
    (audited, with the staff member who printed them). Certificates that break the rules are
    left out. In a fixed number of queries, by participant's name."""
    lock_offering(session, offering_id)
    enrollments = session.scalars(
        sa.select(Enrollment).where(Enrollment.offering_id == offering_id)
        .options(joinedload(Enrollment.participant),
                 joinedload(Enrollment.offering).joinedload(CourseOffering.county),
                 joinedload(Enrollment.offering).joinedload(CourseOffering.kind)
                 .selectinload(CourseKind.objectives),
                 joinedload(Enrollment.offering).selectinload(CourseOffering.sessions))
    ).unique().all()
    present: dict[int, set[int]] = {}
    for enrollment_id, session_id in session.execute(
            sa.select(Attendance.enrollment_id, Attendance.session_id).join(Attendance.enrollment)
            .where(Enrollment.offering_id == offering_id, ATTENDED)):
        present.setdefault(enrollment_id, set()).add(session_id)
    latest = latest_by_enrollment(session, offering_id)
    offering = enrollments[0].offering if enrollments else None
    valid = [c for c in latest.values()
             if not c.is_revoked and not breaches(c, offering)]
    for enrollment in enrollments:
        if enrollment.id in latest:
            continue
        done = completion_from(enrollment, present.get(enrollment.id, ()), now)
        if done.met:
            certificate = _create(session, enrollment, done, now)
            _audit(session, actor, "certificate.issue", certificate, enrollment, None,
                   _summary(certificate))
            valid.append(certificate)
    return sorted(valid, key=lambda c: (sort_key(c.snapshot["name"]), c.id))
