"""The staff dashboard: the offerings of the current and next cohort, how full they are, how
long their waiting lists are and how well their ended course days were attended.

"Current and next" in each scheme: the LIS1 doctors' municipal start and the interns' turnus
year; offerings without a cohort (supervisor training) are shown while they have course days
from the start of the earliest of those cohorts on (or none yet).

Three aggregate queries whatever the number of offerings: the offerings, the enrollment counts
grouped by offering, and the course days with their marks. Which offerings a person may see is
a WHERE clause the view passes in (``core.auth.county_scope``), so this module knows no user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from babel.numbers import format_percent
from sqlalchemy.orm import Session, aliased, contains_eager

from core.collation import collated
from core.i18n import OSLO, current_locale, format_number, to_local
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
)
from enrollment.services import cohorts as cohort_rules
from enrollment.services.attendance import (
    AttendanceFigures,
    SessionFigures,
    figures_by_offering,
    session_figures,
)

S = EnrollmentStatus


def current_cohorts(today: date) -> tuple[date, ...]:
    """The current and next cohort of every scheme: LIS1 starts, then turnus years."""
    return tuple(c for scheme in cohort_rules.SCHEME_MONTHS
                 for c in cohort_rules.cohorts_around(scheme, today))


def _without_cohort_since(since: date) -> sa.ColumnElement[bool]:
    """Offerings without a cohort that have a course day ending from ``since`` on, or none."""
    start = datetime.combine(since, time(0), tzinfo=OSLO)
    # An alias, correlated to the offering only: the clause is also nested in queries that
    # select from course_sessions themselves (``session_figures``).
    day = aliased(CourseSession)
    days = sa.select(day.id).where(day.offering_id == CourseOffering.id).correlate(CourseOffering)
    return sa.and_(CourseOffering.cohort.is_(None),
                   sa.or_(~days.exists(), days.where(day.ends_at >= start).exists()))


@dataclass(frozen=True)
class OfferingStats:
    """The figures of one offering."""

    offering: CourseOffering
    confirmed: int
    waitlisted: int
    pending: int
    attendance: AttendanceFigures
    days: tuple[SessionFigures, ...] = ()

    @property
    def capacity(self) -> int:
        """Seats the offering has."""
        return self.offering.capacity


@dataclass(frozen=True)
class Totals:
    """The figures of all offerings shown, summed."""

    offerings: int = 0
    confirmed: int = 0
    capacity: int = 0
    waitlisted: int = 0
    pending: int = 0
    attendance: AttendanceFigures = field(default_factory=AttendanceFigures)


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows."""

    cohorts: tuple[date, ...]
    offerings: list[OfferingStats]
    totals: Totals = field(default_factory=Totals)
    # Offerings without a cohort are shown when they have course days from this day on.
    since: date | None = None

    @property
    def days(self) -> list[tuple[OfferingStats, SessionFigures]]:
        """Every course day of the offerings shown, in date order, with its offering."""
        pairs = [(stats, day) for stats in self.offerings for day in stats.days]
        return sorted(pairs, key=lambda p: (p[1].starts_at, p[1].session_id))


def _sum(stats: Sequence[OfferingStats]) -> Totals:
    return Totals(
        offerings=len(stats),
        confirmed=sum(s.confirmed for s in stats),
        capacity=sum(s.capacity for s in stats),
        waitlisted=sum(s.waitlisted for s in stats),
        pending=sum(s.pending for s in stats),
        attendance=AttendanceFigures(
            present=sum(s.attendance.present for s in stats),
            marked=sum(s.attendance.marked for s in stats),
            past_sessions=sum(s.attendance.past_sessions for s in stats),
            unmarked_sessions=sum(s.attendance.unmarked_sessions for s in stats),
        ),
    )


def _count(status: EnrollmentStatus):
    return sa.func.coalesce(sa.func.sum(sa.case((Enrollment.status == status, 1), else_=0)), 0)


def dashboard(
    session: Session, scope: sa.ColumnElement[bool], now: datetime,
    cohorts: Sequence[date] | None = None,
) -> Dashboard:
    """The figures of the offerings of ``cohorts`` (default: current and next of each scheme)
    and of those without a cohort held since the earliest of them, that ``scope`` (a WHERE
    clause on ``CourseOffering``) lets through; cancelled offerings are left out."""
    cohorts = tuple(cohorts or current_cohorts(to_local(now).date()))
    since = min(cohorts)
    shown = sa.and_(scope, sa.or_(CourseOffering.cohort.in_(cohorts), _without_cohort_since(since)),
                    CourseOffering.status != OfferingStatus.CANCELLED)
    offerings = list(session.scalars(
        sa.select(CourseOffering)
        .join(CourseOffering.county).join(CourseOffering.kind)
        .where(shown)
        .options(contains_eager(CourseOffering.county), contains_eager(CourseOffering.kind))
        .order_by(CourseOffering.cohort.nulls_last(), collated(County.name_nb), CourseKind.position,
                  CourseOffering.id)
    ))
    counts = {
        row.offering_id: row
        for row in session.execute(
            sa.select(Enrollment.offering_id, _count(S.CONFIRMED).label("confirmed"),
                      _count(S.WAITLISTED).label("waitlisted"), _count(S.PENDING).label("pending"))
            .join(CourseOffering, CourseOffering.id == Enrollment.offering_id)
            .where(shown)
            .group_by(Enrollment.offering_id)
        )
    }
    days = session_figures(session, shown)
    attendance = figures_by_offering(days, now)
    days_of: dict[int, list[SessionFigures]] = {}
    for day in days:
        days_of.setdefault(day.offering_id, []).append(day)
    stats = []
    for offering in offerings:
        row = counts.get(offering.id)
        stats.append(OfferingStats(
            offering=offering,
            confirmed=int(row.confirmed) if row else 0,
            waitlisted=int(row.waitlisted) if row else 0,
            pending=int(row.pending) if row else 0,
            attendance=attendance.get(offering.id, AttendanceFigures()),
            days=tuple(days_of.get(offering.id, ())),
        ))
    return Dashboard(cohorts=cohorts, offerings=stats, totals=_sum(stats), since=since)


def percent(rate: float | None, locale: str | None = None) -> str:
    """A share 0–1 as a percentage for the locale ('76 %'); a dash when there is none."""
    if rate is None:
        return "–"
    loc = {"en": "en_GB"}.get(locale or current_locale(), locale or current_locale())
    return format_percent(rate, locale=loc)


# --- bar charts, drawn as inline SVG by the template ------------------------------------------

CHART_WIDTH = 720
LABEL_WIDTH = 250
BAR_AREA = 340
ROW_HEIGHT = 30
BAR_HEIGHT = 18
FILLED = "#1d4f91"      # 8.9:1 against white
WAITING = "#a34700"     # 5.9:1 against white
OUTLINE = "#595959"     # 7:1 against white
TRACK = "#ffffff"


@dataclass(frozen=True)
class Segment:
    """One rectangle of a bar."""

    x: float
    width: float
    fill: str
    stroke: str | None = None


@dataclass(frozen=True)
class ChartRow:
    """One offering's bar: its label, rectangles and the figures written after it."""

    y: float
    label: str
    segments: tuple[Segment, ...]
    value_text: str

    @property
    def text_y(self) -> float:
        """Baseline of the row's texts."""
        return self.y + BAR_HEIGHT - 4


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart; geometry only, the template draws it."""

    rows: tuple[ChartRow, ...]
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH
    bar_x: int = LABEL_WIDTH + 10

    @property
    def height(self) -> int:
        """Height of the drawing."""
        return len(self.rows) * ROW_HEIGHT + 10

    @property
    def bar_area(self) -> int:
        """Width of the bars' scale, from ``bar_x``."""
        return BAR_AREA

    @property
    def value_x(self) -> float:
        """Where the figures after the bars start."""
        return self.bar_x + BAR_AREA + 10


def seats_chart(stats: Sequence[OfferingStats], labels: Sequence[str]) -> BarChart:
    """Seats filled inside an outline of the capacity, the waiting list after it."""
    scale = max([s.capacity + s.waitlisted for s in stats] + [1])
    x0 = LABEL_WIDTH + 10
    rows = []
    for i, (s, label) in enumerate(zip(stats, labels, strict=True)):
        text = f"{format_number(s.confirmed)}/{format_number(s.capacity)}"
        if s.waitlisted:
            text += f" + {format_number(s.waitlisted)}"
        unit = BAR_AREA / scale
        segments = [Segment(x0, round(s.capacity * unit, 1), TRACK, OUTLINE)]
        if s.confirmed:
            segments.append(Segment(x0, round(min(s.confirmed, s.capacity) * unit, 1), FILLED))
        if s.waitlisted:
            segments.append(Segment(round(x0 + s.capacity * unit, 1),
                                    round(s.waitlisted * unit, 1), WAITING))
        rows.append(ChartRow(i * ROW_HEIGHT + 5, label, tuple(segments), text))
    return BarChart(tuple(rows))


def attendance_chart(stats: Sequence[OfferingStats], labels: Sequence[str]) -> BarChart:
    """The attendance rate of ended course days, 0–100 %, in an outline of 100 %."""
    x0 = LABEL_WIDTH + 10
    rows = []
    for i, (s, label) in enumerate(zip(stats, labels, strict=True)):
        rate = s.attendance.rate
        segments = [Segment(x0, BAR_AREA, TRACK, OUTLINE)]
        if rate:
            segments.append(Segment(x0, round(rate * BAR_AREA, 1), FILLED))
        rows.append(ChartRow(i * ROW_HEIGHT + 5, label, tuple(segments), percent(rate)))
    return BarChart(tuple(rows))
