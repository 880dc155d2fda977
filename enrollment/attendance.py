"""Attendance: who is expected at a course day, marking them present or absent, and the figures.

The roster of a course day is the confirmed enrollments of its offering. Staff mark the whole
roster in one go; each save is one audit event holding every participant's mark before and
after. Plain functions that take a session, flush and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from core import audit
from core.collation import collated
from core.db import utcnow
from enrollment.models import (
    Attendance,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Participant,
)

AUDIT_ACTION = "attendance.save"

@dataclass(frozen=True)
class RosterEntry:
    """One confirmed participant of a course day and their current mark (None: not marked)."""

    enrollment: Enrollment
    present: bool | None

    @property
    def participant(self) -> Participant:
        """The person enrolled."""
        return self.enrollment.participant


@dataclass(frozen=True)
class SavedAttendance:
    """What a save did: the marks before and after, keyed by enrollment id."""

    before: dict[int, bool | None]
    after: dict[int, bool]

    @property
    def present(self) -> int:
        """How many are marked present now."""
        return sum(self.after.values())

    @property
    def changed(self) -> int:
        """How many marks the save changed (a first mark counts as a change)."""
        return sum(1 for k, v in self.after.items() if self.before.get(k) is not v)


def roster(session: Session, course_session: CourseSession) -> list[RosterEntry]:
    """The confirmed participants of the course day's offering, in Norwegian name order
    (``core.collation``), with their marks."""
    rows = session.execute(
        sa.select(Enrollment, Attendance.present)
        .join(Enrollment.participant)
        .outerjoin(Attendance, sa.and_(Attendance.enrollment_id == Enrollment.id,
                                       Attendance.session_id == course_session.id))
        .where(Enrollment.offering_id == course_session.offering_id,
               Enrollment.status == EnrollmentStatus.CONFIRMED)
        .options(contains_eager(Enrollment.participant))
        .order_by(collated(Participant.full_name), Enrollment.id)
    ).all()
    return [RosterEntry(enrollment, present) for enrollment, present in rows]


def save_attendance(
    session: Session, course_session: CourseSession, present_ids: Iterable[int], actor,
    now: datetime | None = None,
) -> SavedAttendance:
    """Mark every confirmed participant of the course day present (id in ``present_ids``) or
    absent, and write one audit event with all marks before and after.

    Ids that are not on the roster (an enrollment cancelled since the form was shown) are
    ignored. Marks of enrollments no longer confirmed are kept as they were.
    """
    now = now or utcnow()
    # Two staff saving the same day at once: the second waits, then overwrites whole.
    session.scalar(sa.select(CourseSession.id).where(CourseSession.id == course_session.id)
                   .with_for_update())
    wanted = set(present_ids)
    confirmed = session.scalars(
        sa.select(Enrollment.id).where(Enrollment.offering_id == course_session.offering_id,
                                       Enrollment.status == EnrollmentStatus.CONFIRMED)
    ).all()
    existing = {
        a.enrollment_id: a
        for a in session.scalars(
            sa.select(Attendance).where(Attendance.session_id == course_session.id,
                                        Attendance.enrollment_id.in_(confirmed))
        )
    }
    before = {eid: (existing[eid].present if eid in existing else None) for eid in confirmed}
    after = {eid: eid in wanted for eid in confirmed}
    for eid, present in after.items():
        row = existing.get(eid)
        if row is None:
            session.add(Attendance(enrollment_id=eid, session_id=course_session.id,
                                   present=present, marked_by_id=getattr(actor, "id", None),
                                   marked_at=now))
        elif row.present != present:
            row.present, row.marked_by_id, row.marked_at = present, getattr(actor, "id", None), now
    session.flush()
    audit.record(
        session, actor=actor, action=AUDIT_ACTION, object_type="course_session",
        object_id=course_session.id, county_id=course_session.offering.county_id,
        before={str(k): v for k, v in sorted(before.items())},
        after={str(k): v for k, v in sorted(after.items())},
    )
    return SavedAttendance(before, after)


@dataclass(frozen=True)
class AttendanceFigures:
    """Marks on the course days of one offering that have ended."""

    present: int = 0
    marked: int = 0
    past_sessions: int = 0
    unmarked_sessions: int = 0

    @property
    def rate(self) -> float | None:
        """Share of marks that are 'present', 0–1; None when nothing is marked yet."""
        return self.present / self.marked if self.marked else None


@dataclass(frozen=True)
class SessionFigures:
    """One course day and how many confirmed participants are marked, and present."""

    session_id: int
    offering_id: int
    starts_at: datetime
    ends_at: datetime
    place: str
    marked: int
    present: int


def session_figures(session: Session, offering_filter: sa.ColumnElement[bool],
                    ) -> list[SessionFigures]:
    """Every course day of the offerings matching ``offering_filter`` (a WHERE clause on
    ``CourseOffering``) with its marks, in one query. Marks of enrollments no longer
    confirmed are left out."""
    from_offerings = sa.select(CourseOffering.id).where(offering_filter)
    confirmed = sa.and_(Enrollment.id == Attendance.enrollment_id,
                        Enrollment.status == EnrollmentStatus.CONFIRMED)
    rows = session.execute(
        sa.select(
            CourseSession.id, CourseSession.offering_id, CourseSession.starts_at,
            CourseSession.ends_at, CourseSession.place,
            sa.func.count(Enrollment.id),
            sa.func.coalesce(sa.func.sum(sa.case(
                (sa.and_(Enrollment.id.is_not(None), Attendance.present), 1), else_=0)), 0),
        )
        .outerjoin(Attendance, Attendance.session_id == CourseSession.id)
        .outerjoin(Enrollment, confirmed)
        .where(CourseSession.offering_id.in_(from_offerings))
        .group_by(CourseSession.id, CourseSession.offering_id, CourseSession.starts_at,
                  CourseSession.ends_at, CourseSession.place)
        .order_by(CourseSession.starts_at, CourseSession.id)
    ).all()
    return [SessionFigures(*row[:5], marked=int(row[5]), present=int(row[6])) for row in rows]


def figures_by_offering(days: Iterable[SessionFigures], now: datetime,
                        ) -> dict[int, AttendanceFigures]:
    """Sum the marks of the course days that have ended, per offering."""
    sums: dict[int, list[int]] = {}
    for day in days:
        if day.ends_at > now:
            continue
        acc = sums.setdefault(day.offering_id, [0, 0, 0, 0])
        acc[0] += day.present
        acc[1] += day.marked
        acc[2] += 1
        acc[3] += day.marked == 0
    return {oid: AttendanceFigures(*acc) for oid, acc in sums.items()}


def offering_attendance(session: Session, offering_id: int, now: datetime | None = None,
                        ) -> AttendanceFigures:
    """The attendance figures of one offering's ended course days."""
    days = session_figures(session, CourseOffering.id == offering_id)
    return figures_by_offering(days, now or utcnow()).get(offering_id, AttendanceFigures())
