"""The journey window: the days a claim's legs and costs may be dated, read from attendance.

A journey to a course starts at the earliest the day before the first session the participant
attended and ends at the latest the day after the last one (Europe/Oslo calendar days). Each
office's rate scheme says how many days before and after (``RateScheme.journey_days_before`` /
``journey_days_after``, the national default 1/1). Until any attendance is recorded (a draft
started before or during the course) the offering's sessions stand in for the attended ones, so
the participant can fill in the journey they are making; a claim is submitted only once at least
one session is attended (``check_attended``).

Attendance is the enrollment plugin's ``Attendance``: ``present=True`` attended, ``False``
absent, no row not recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.i18n import to_local
from enrollment.models import Attendance, CourseSession, Enrollment
from enrollment.services.attendance import ATTENDED
from refunds.errors import NoAttendance, OutsideJourney
from refunds.models import ClaimLine, RateScheme


@dataclass(frozen=True)
class CourseDay:
    """One Oslo calendar day of the offering's sessions and the participant's mark for it:
    True attended, False absent, None not recorded."""

    day: date
    present: bool | None


@dataclass(frozen=True)
class JourneyWindow:
    """The first and last day (inclusive) a claim's lines may be dated, and the course days
    with the participant's attendance that it was worked out from."""

    first: date
    last: date
    course_days: tuple[CourseDay, ...]

    @property
    def attended(self) -> tuple[date, ...]:
        """The days the participant attended a session."""
        return tuple(d.day for d in self.course_days if d.present)

    @property
    def from_attendance(self) -> bool:
        """Whether the window follows recorded attendance (else the offering's sessions)."""
        return bool(self.attended)

    def contains(self, day: date) -> bool:
        """Whether a line may be dated ``day``."""
        return self.first <= day <= self.last


def _days_of(starts_at, ends_at) -> list[date]:
    first, last = to_local(starts_at).date(), to_local(ends_at).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _course_days(rows: Iterable[tuple]) -> tuple[CourseDay, ...]:
    """Course days from (starts_at, ends_at, present) rows; a day with two sessions counts as
    attended when either was attended, absent when every recorded mark is absent."""
    marks: dict[date, list[bool | None]] = {}
    for starts_at, ends_at, present in rows:
        for day in _days_of(starts_at, ends_at):
            marks.setdefault(day, []).append(present)
    days = []
    for day, values in sorted(marks.items()):
        if any(values):
            present = True
        elif any(v is False for v in values):
            present = False
        else:
            present = None
        days.append(CourseDay(day, present))
    return tuple(days)


def course_days(session: Session, enrollment: Enrollment) -> tuple[CourseDay, ...]:
    """The days of the enrollment's offering, each with the participant's attendance."""
    rows = session.execute(
        sa.select(CourseSession.starts_at, CourseSession.ends_at, Attendance.present)
        .outerjoin(Attendance, sa.and_(Attendance.session_id == CourseSession.id,
                                       Attendance.enrollment_id == enrollment.id))
        .where(CourseSession.offering_id == enrollment.offering_id)
        .order_by(CourseSession.starts_at)
    ).all()
    return _course_days(rows)


def journey_window(
    session: Session, enrollment: Enrollment, scheme: RateScheme
) -> JourneyWindow | None:
    """The journey window of an enrollment under ``scheme``; None when the offering has no
    sessions (no claim can be made then anyway)."""
    days = course_days(session, enrollment)
    if not days:
        return None
    basis = [d.day for d in days if d.present] or [d.day for d in days]
    return JourneyWindow(
        first=basis[0] - timedelta(days=scheme.journey_days_before),
        last=basis[-1] + timedelta(days=scheme.journey_days_after),
        course_days=days,
    )


def has_attended(session: Session, enrollment: Enrollment) -> bool:
    """Whether the participant attended at least one session (recorded present)."""
    return bool(session.scalar(
        sa.select(sa.func.count()).select_from(Attendance)
        .where(Attendance.enrollment_id == enrollment.id, ATTENDED)
    ))


def check_attended(session: Session, enrollment: Enrollment) -> None:
    """Raise ``NoAttendance`` unless the participant attended at least one session."""
    if not has_attended(session, enrollment):
        raise NoAttendance()


def date_errors(lines: Sequence, window: JourneyWindow | None) -> list[OutsideJourney]:
    """One ``OutsideJourney`` for each line (by its index) dated outside ``window``."""
    if window is None:
        return []
    return [OutsideJourney(index, window) for index, line in enumerate(lines)
            if not window.contains(line.travel_date)]


def unattended_line_counts(session: Session, claims: Sequence) -> dict[int, int]:
    """For each claim, how many of its lines are dated on a day the participant attended no
    session: two queries whatever the number of claims (the staff queue's flag)."""
    if not claims:
        return {}
    enrollment_of = {c.id: c.enrollment_id for c in claims}
    attended: dict[int, set[date]] = {}
    for enrollment_id, starts_at, ends_at in session.execute(
        sa.select(Attendance.enrollment_id, CourseSession.starts_at, CourseSession.ends_at)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(Attendance.enrollment_id.in_(sorted(set(enrollment_of.values()))),
               ATTENDED)
    ):
        attended.setdefault(enrollment_id, set()).update(_days_of(starts_at, ends_at))
    counts = dict.fromkeys(enrollment_of, 0)
    for claim_id, day in session.execute(
        sa.select(ClaimLine.claim_id, ClaimLine.travel_date)
        .where(ClaimLine.claim_id.in_(sorted(enrollment_of)))
    ):
        if day not in attended.get(enrollment_of[claim_id], set()):
            counts[claim_id] += 1
    return counts
