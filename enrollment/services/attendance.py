"""Attendance: who is expected at a course day, marking them present or absent, and the figures.

The roster of a course day is the confirmed enrollments of its offering. Each person's mark is
one of three: present (a row with ``present`` true), absent, a no-show (a row with ``present``
false), or not recorded (no row). Staff mark the roster in one go, and only the marks they
chose are stored; each save publishes ``attendance_recorded`` (its audit event holds every
participant's mark before and after). Attendance can be recorded only once the course day has
begun (``AttendanceNotOpen`` otherwise); corrections afterwards stay possible. Plain functions
that take a session, flush and never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from core.collation import collated
from core.db import utcnow
from core.events import publish
from enrollment import events
from enrollment.errors import (
    AttendanceNotOpen,
)
from enrollment.models import (
    Attendance,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Participant,
)

# The one test of "attended" for queries in any plugin: a row marked present. A row marked
# absent is a no-show; no row means not recorded.
ATTENDED = Attendance.present.is_(True)


class Mark(enum.StrEnum):
    """A person's mark for one course day, as staff choose it on the attendance page."""

    PRESENT = "present"
    ABSENT = "absent"
    NOT_RECORDED = "not_recorded"

    @property
    def present(self) -> bool | None:
        """The stored value: True, False, or None for no row."""
        return {Mark.PRESENT: True, Mark.ABSENT: False}.get(self)

    @classmethod
    def of(cls, present: bool | None) -> Mark:
        """The mark for a stored value (None: no row)."""
        if present is None:
            return cls.NOT_RECORDED
        return cls.PRESENT if present else cls.ABSENT


def is_open(course_session: CourseSession, now: datetime) -> bool:
    """Whether attendance can be recorded for the course day at ``now``: once it has begun."""
    return now >= course_session.starts_at

@dataclass(frozen=True)
class RosterEntry:
    """One confirmed participant of a course day and their current mark (None: not marked)."""

    enrollment: Enrollment
    present: bool | None

    @property
    def participant(self) -> Participant:
        """The person enrolled."""
        return self.enrollment.participant

    @property
    def mark(self) -> Mark:
        """The saved mark."""
        return Mark.of(self.present)


@dataclass(frozen=True)
class SavedAttendance:
    """What a save did: the marks before and after, keyed by enrollment id (None: not
    recorded)."""

    before: dict[int, bool | None]
    after: dict[int, bool | None]

    @property
    def present(self) -> int:
        """How many are marked present now."""
        return sum(1 for v in self.after.values() if v is True)

    @property
    def absent(self) -> int:
        """How many are marked absent now."""
        return sum(1 for v in self.after.values() if v is False)

    @property
    def not_recorded(self) -> int:
        """How many have no mark now."""
        return sum(1 for v in self.after.values() if v is None)

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


def offering_marks(session: Session, offering_id: int,
                   ) -> tuple[list[Enrollment], dict[tuple[int, int], bool]]:
    """The roster of every course day of an offering at once: its confirmed participants in
    Norwegian name order (as ``roster``), and their marks keyed by (course day id, enrollment
    id); a pair without a key is not recorded. Two queries, whatever the number of days."""
    people = list(session.scalars(
        sa.select(Enrollment).join(Enrollment.participant)
        .where(Enrollment.offering_id == offering_id,
               Enrollment.status == EnrollmentStatus.CONFIRMED)
        .options(contains_eager(Enrollment.participant))
        .order_by(collated(Participant.full_name), Enrollment.id)))
    rows = session.execute(
        sa.select(Attendance.session_id, Attendance.enrollment_id, Attendance.present)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .where(CourseSession.offering_id == offering_id,
               Enrollment.status == EnrollmentStatus.CONFIRMED)).all()
    return people, {(sid, eid): present for sid, eid, present in rows}


def save_attendance(
    session: Session, course_session: CourseSession, marks: Mapping[int, Mark], actor,
    now: datetime | None = None,
) -> SavedAttendance:
    """Store the marks staff chose for the confirmed participants of a course day (present,
    absent, or not recorded, which removes a mark), and publish ``attendance_recorded`` with
    every confirmed participant's mark before and after.

    Raises ``AttendanceNotOpen`` before the course day has begun: attendance is what
    happened, so it cannot be recorded ahead. Ids that are not on the roster (an enrollment
    cancelled since the form was shown) are ignored, and so are confirmed participants the
    form did not mention: their marks stay as they were, as do marks of enrollments no
    longer confirmed.
    """
    now = now or utcnow()
    if not is_open(course_session, now):
        raise AttendanceNotOpen(course_session.starts_at)
    # Two staff saving the same day at once: the second waits, then applies its choices.
    session.scalar(sa.select(CourseSession.id).where(CourseSession.id == course_session.id)
                   .with_for_update())
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
    after = dict(before)
    actor_id = getattr(actor, "id", None)
    saved: dict[int, Mark] = {}
    for eid in confirmed:
        if eid not in marks:
            continue
        saved[eid] = Mark(marks[eid])
        wanted, row = Mark(marks[eid]).present, existing.get(eid)
        after[eid] = wanted
        if wanted is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Attendance(enrollment_id=eid, session_id=course_session.id,
                                   present=wanted, marked_by_id=actor_id, marked_at=now))
        elif row.present != wanted:
            row.present, row.marked_by_id, row.marked_at = wanted, actor_id, now
    session.flush()
    publish(events.attendance_recorded, session, offering=course_session.offering,
            course_session=course_session, marks=saved, before=before, after=after, actor=actor,
            now=now)
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
