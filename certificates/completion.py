"""The completion rule: how a participant's attendance stands against what a certificate asks.

The one definition of "completed", used by the services, the pages and their templates
(through ``Completion`` and ``certificates.services.CertificateStatus``): a confirmed enrollment
whose participant attended every session of a course, or, for kinds completed by share (group
guidance), at least the offering's ``min_share_percent`` of the meetings. Only sessions that
have ended count: a present mark on a course day still under way counts once it is over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certificates.rules import required_count, rule_met
from core.db import utcnow
from enrollment.models import Attendance, CourseSession, Enrollment, EnrollmentStatus
from enrollment.services.attendance import ATTENDED


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
        return (self.status == EnrollmentStatus.CONFIRMED
                and rule_met(self.total, self.attended, self.required))

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


def completions_of(session: Session, enrollments: Sequence[Enrollment],
                   now: datetime) -> dict[int, Completion]:
    """The completion at ``now`` of each of ``enrollments`` (of one offering, its sessions and
    kind loaded), by enrollment id, from their attendance marks in one query."""
    present: dict[int, set[int]] = {}
    ids = [e.id for e in enrollments]
    if ids:
        for enrollment_id, session_id in session.execute(
                sa.select(Attendance.enrollment_id, Attendance.session_id)
                .where(Attendance.enrollment_id.in_(ids), ATTENDED)):
            present.setdefault(enrollment_id, set()).add(session_id)
    return {e.id: completion_from(e, present.get(e.id, ()), now) for e in enrollments}
