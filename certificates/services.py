"""Certificates of attendance: issuing one with a snapshot of what it states, re-issue and issue
by hand, revocation, and lookup by code (``certificates.wording`` turns a snapshot into words).

Who has earned one is the completion rule (``certificates.completion``): only sessions that
have ended count. So a certificate's date of issue is never before the end of the last session
it counts; issuing by hand without the rule met waits until the offering's last session has
ended. Issuing is a change of state, never a side effect of reading: the rule issues a
certificate when a request that may write asks for it (the participant's button, staff
printing, attendance saved: ``issue``, ``issue_due``) or when ``flask certificates issue-due``
finds it due; a page that only reads shows what is issued. ``breaches`` tells whether an
existing certificate (perhaps issued before these rules) keeps them; one that does not is never
shown as valid.

The snapshot holds every fact the certificate prints, with the course, kind, objectives and
office in all three languages, so the participant can download the same certificate in nn, nb
or en, and later edits of the offering, its objectives or the participant change neither the
PDF nor the verification page. Staff re-issue after a correction: the snapshot is taken anew
and the code stays, unless the certificate was revoked.

Plain functions that take a session, flush and never commit; each change is published
(``certificates.events``: issued, revoked), and the audit log subscribes. Issuing locks the
offering row, so two requests cannot both issue a first certificate for the same enrollment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from certificates import events
from certificates.codes import new_code, normalise_code
from certificates.completion import Completion, completion, completions_of
from certificates.errors import (
    AlreadyRevoked,
    BreachesRules,
    CertificateRevoked,
    NotCompleted,
    NotIssuable,
    NotYetEnded,
    ReasonRequired,
)
from certificates.models import Certificate
from certificates.rules import Breach, breaches
from core.collation import sort_key
from core.events import publish
from core.i18n import LOCALES, OSLO
from enrollment.models import (
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Participant,
)
from enrollment.services.attendance import ATTENDED
from enrollment.services.seats import lock_offering

SNAPSHOT_VERSION = 1
MAX_REASON = 2000


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


def of_offering(session: Session, offering_id: int) -> list[Certificate]:
    """Every certificate issued for an offering, revoked or not, in order of issue (the staff
    API's list). Reads only."""
    return list(session.scalars(
        sa.select(Certificate).join(Certificate.enrollment)
        .where(Enrollment.offering_id == offering_id)
        .order_by(Certificate.issued_at, Certificate.id)))


def valid_by_enrollment(session: Session, enrollment_ids: list[int]) -> dict[int, Certificate]:
    """The latest certificate not revoked of each of ``enrollment_ids`` that has one, in one
    query (a cohort roster's completion table)."""
    rows = session.scalars(
        sa.select(Certificate)
        .where(Certificate.enrollment_id.in_(enrollment_ids), Certificate.revoked_at.is_(None))
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
    def valid(self) -> bool:
        """A certificate is issued, neither revoked nor breaking the rules."""
        return (self.certificate is not None and not self.certificate.is_revoked
                and not self.breaches)

    @property
    def due(self) -> bool:
        """None is issued yet, and the completion rule is met: asking for it issues it."""
        return self.certificate is None and self.completion.met

    @property
    def downloadable(self) -> bool:
        """A valid certificate is issued, or is due and issued when asked for."""
        return self.valid or self.due

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


# Everything ``take_snapshot`` reads, loaded with the enrollment.
_SNAPSHOT_LOADS = (
    joinedload(Enrollment.participant),
    joinedload(Enrollment.offering).joinedload(CourseOffering.county),
    joinedload(Enrollment.offering).joinedload(CourseOffering.kind)
    .selectinload(CourseKind.objectives),
    joinedload(Enrollment.offering).selectinload(CourseOffering.sessions),
)


def _load_for_issue(session: Session, enrollment_id: int) -> Enrollment:
    """Lock the enrollment's offering, then load the enrollment with all the snapshot needs."""
    offering_id = session.scalar(
        sa.select(Enrollment.offering_id).where(Enrollment.id == enrollment_id))
    if offering_id is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    lock_offering(session, offering_id)
    return session.scalar(
        sa.select(Enrollment).where(Enrollment.id == enrollment_id)
        .options(*_SNAPSHOT_LOADS).execution_options(populate_existing=True))


def take_snapshot(enrollment: Enrollment, done: Completion, now: datetime) -> dict:
    """Every fact the certificate prints, as JSON, with translatable ones in each language."""
    offering, person = enrollment.offering, enrollment.participant
    kind, county = offering.kind, offering.county
    attended = done.attended_sessions
    return {
        "version": SNAPSHOT_VERSION,
        "name": person.full_name,
        "hpr_number": person.hpr_number or "",
        "role": enrollment.role.value,
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
    """A new certificate for ``enrollment``, published as issued (by hand when ``reason``)."""
    certificate = Certificate(
        enrollment_id=enrollment.id, code=_unique_code(session),
        locale=enrollment.participant.locale, issued_at=now,
        issued_by_id=getattr(actor, "id", None) if reason else None, manual_reason=reason,
        snapshot=take_snapshot(enrollment, done, now),
    )
    session.add(certificate)
    session.flush()
    publish(events.issued, session, certificate=certificate, enrollment=enrollment,
            actor=actor, by_hand=bool(reason), reissue=False, before=None,
            completed=done.met, summary=summary(certificate))
    return certificate


def summary(certificate: Certificate) -> dict:
    """What a certificate states, in short, for the audit log."""
    snap = certificate.snapshot
    return {"code": certificate.code, "enrollment_id": certificate.enrollment_id,
            "name": snap["name"], "attended": snap["attended"], "total": snap["total"],
            "issued_on": snap["issued_on"], "manual_reason": certificate.manual_reason}


def issue(session: Session, enrollment_id: int, *, now: datetime, actor=None) -> Certificate:
    """The enrollment's certificate: the one issued before, or one issued now if the rule is
    met by sessions that have ended (the participant asking for it). Raises ``NotCompleted``,
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
    return _create(session, enrollment, done, now, actor=actor)


def issue_by_hand(session: Session, enrollment_id: int, reason: str, *, actor,
                  now: datetime) -> tuple[Certificate, bool]:
    """Issue a certificate by staff decision, whether or not the rule is met, or re-issue the
    valid one with the details as they are now (after a correction; the code stays).
    Without the rule met by ended sessions, only once the offering's last session has ended
    (``NotYetEnded``). Returns the certificate and whether it was a re-issue."""
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
    if existing is None or existing.is_revoked:
        return _create(session, enrollment, done, now, actor=actor, reason=reason), False
    before = summary(existing)
    existing.snapshot = take_snapshot(enrollment, done, now)
    existing.issued_at, existing.issued_by_id = now, actor.id
    existing.manual_reason = reason
    existing.locale = enrollment.participant.locale
    session.flush()
    publish(events.issued, session, certificate=existing, enrollment=enrollment, actor=actor,
            by_hand=True, reissue=True, before=before, completed=done.met,
            summary=summary(existing))
    return existing, True


def revoke(session: Session, certificate_id: int, reason: str, *, actor,
           now: datetime) -> Certificate:
    """Withdraw a certificate; its verification page then says so, with the reason."""
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
    publish(events.revoked, session, certificate=certificate,
            enrollment=certificate.enrollment, actor=actor, reason=reason)
    return certificate


# --- issuing by the rule, for a whole offering ---------------------------------------------------


def due(session: Session, offering_id: int, now: datetime,
        ) -> list[tuple[Enrollment, Completion]]:
    """The confirmed participants of an offering who met the completion rule by sessions
    ended at ``now`` and have no certificate (revoked or not: after a revocation only staff
    issue again), with their completion; anonymised participants are left out. Reads only."""
    has_certificate = sa.exists().where(Certificate.enrollment_id == Enrollment.id)
    enrollments = session.scalars(
        sa.select(Enrollment).join(Enrollment.participant)
        .where(Enrollment.offering_id == offering_id,
               Enrollment.status == EnrollmentStatus.CONFIRMED,
               Participant.anonymised_at.is_(None), ~has_certificate)
        .options(*_SNAPSHOT_LOADS)
    ).unique().all()
    done = completions_of(session, enrollments, now)
    return [(e, done[e.id]) for e in enrollments if done[e.id].met]


def issue_due(session: Session, offering_id: int, *, now: datetime,
              actor=None) -> list[Certificate]:
    """Issue a certificate to everyone ``due`` in the offering at ``now``, each published as
    issued by the rule (``actor``: the staff member whose action issued them, if any). Safe to
    repeat and to run at once from several places: the offering row is locked, and a second
    run finds them issued. Returns the new certificates."""
    lock_offering(session, offering_id)
    return [_create(session, enrollment, done, now, actor=actor)
            for enrollment, done in due(session, offering_id, now)]


def offerings_with_due(session: Session, now: datetime) -> list[int]:
    """The offerings where someone may be ``due`` at ``now``: a confirmed participant, not
    anonymised, without a certificate, marked present at a session that has ended. In one
    query; ``due`` then applies the rule itself."""
    has_certificate = sa.exists().where(Certificate.enrollment_id == Enrollment.id)
    return list(session.scalars(
        sa.select(Enrollment.offering_id).distinct()
        .join(Enrollment.participant)
        .join(Attendance, Attendance.enrollment_id == Enrollment.id)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(Enrollment.status == EnrollmentStatus.CONFIRMED, ATTENDED,
               CourseSession.ends_at <= now, Participant.anonymised_at.is_(None),
               ~has_certificate)
        .order_by(Enrollment.offering_id)))


def printable(session: Session, offering_id: int) -> list[Certificate]:
    """Every valid certificate of an offering (the latest of each enrollment, neither revoked
    nor breaking the rules), by participant's name, for printing. Reads only."""
    offering = session.scalar(
        sa.select(CourseOffering).where(CourseOffering.id == offering_id)
        .options(joinedload(CourseOffering.kind), selectinload(CourseOffering.sessions)))
    latest = latest_by_enrollment(session, offering_id)
    valid = [c for c in latest.values() if not c.is_revoked and not breaches(c, offering)]
    return sorted(valid, key=lambda c: (sort_key(c.snapshot["name"]), c.id))
