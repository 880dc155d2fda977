"""The administrators' national overview: per turnus region, county and cohort, the people in
the cohort rosters, how many of them completed each mandatory item (attended it, and holding a
certificate for it), the waiting lists, the no-show rate and what other plugins add (refunds:
the claims paid, through ``enrollment.panels.overview_columns``).

Completion follows the rosters' rules (``enrollment.services.completion``): an enrollment
belongs to an entry by HPR number, else e-mail address, ambiguous ones count for nobody until
staff choose (``RosterMatch``), only the office's own courses count, and an item is *attended*
when a confirmed enrollment's course is over and the person was present at it. The matching
rule cannot be written as a GROUP BY (it depends on the other entries of the roster), so the
entries and candidate enrollments are loaded as plain rows in a fixed number of queries for
all rosters at once, and counted here. Waiting lists and the no-show rate are aggregate
queries grouped by county and cohort.

No-show rate: of the confirmed participants of course days that have ended, the share marked
absent. A day without a mark for a participant ("not recorded") is not a no-show; it is
counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.collation import collated
from core.models import County, Region
from enrollment.models import (
    ACTIVE_STATUSES,
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    KindRole,
    Participant,
    Roster,
    RosterEntry,
    RosterMatch,
)
from enrollment.panels import OverviewCell, overview_columns
from enrollment.panels import completion_facts as certificate_facts
from enrollment.services.attendance import ATTENDED
from enrollment.services.completion import automatic_match

Key = tuple[int, date]


@dataclass
class OverviewRow:
    """The figures of one county's cohort."""

    county: County
    cohort: date
    people: int = 0
    # By course kind code: people for whom it is mandatory, who attended it, who hold a
    # certificate for it.
    due: dict[str, int] = field(default_factory=dict)
    attended: dict[str, int] = field(default_factory=dict)
    certified: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    # Confirmed participants of ended course days (one per person and day), those marked absent
    # and those with no mark.
    expected: int = 0
    absent: int = 0
    not_recorded: int = 0
    extra: list[OverviewCell] = field(default_factory=list)

    @property
    def no_show_rate(self) -> float | None:
        """The share of confirmed participants of ended days marked absent; None without any."""
        return self.absent / self.expected if self.expected else None

    @property
    def completion_rate(self) -> float | None:
        """The share of the mandatory items due that were attended; None when none are due."""
        due = sum(self.due.values())
        return sum(self.attended.values()) / due if due else None


@dataclass
class Overview:
    """What the overview shows: the rows in region, county and cohort order."""

    cohorts: tuple[date, ...]
    region: Region | None
    kinds: list[CourseKind]
    rows: list[OverviewRow]
    columns: list = field(default_factory=list)

    def by_region(self) -> list[tuple[Region, list[OverviewRow], OverviewRow]]:
        """The rows grouped by turnus region, in the regions' order, each with its total."""
        groups = []
        for region in Region:
            rows = [r for r in self.rows if r.county.region == region]
            if rows:
                groups.append((region, rows, self.total(rows)))
        return groups

    def total(self, rows: list[OverviewRow]) -> OverviewRow:
        """The figures of ``rows`` summed (the county and cohort are the first row's)."""
        total = OverviewRow(rows[0].county, rows[0].cohort)
        for row in rows:
            total.people += row.people
            for mine, theirs in ((total.due, row.due), (total.attended, row.attended),
                                 (total.certified, row.certified)):
                for code, n in theirs.items():
                    mine[code] = mine.get(code, 0) + n
            total.waiting += row.waiting
            total.expected += row.expected
            total.absent += row.absent
            total.not_recorded += row.not_recorded
        total.extra = [column.total([r.extra[i] for r in rows]) if column.total
                       else OverviewCell("–") for i, column in enumerate(self.columns)]
        return total


def _keys(session: Session, counties: dict[int, County], cohorts: Sequence[date]) -> set[Key]:
    """The (county, cohort) pairs that have a roster or an offering."""
    found: set[Key] = set()
    for table in (Roster, CourseOffering):
        found |= {(c, k) for c, k in session.execute(
            sa.select(table.county_id, table.cohort).distinct()
            .where(table.county_id.in_(counties), table.cohort.in_(cohorts)))}
    return found


def _completion(session: Session, rows: dict[Key, OverviewRow], cohorts: Sequence[date],
                now: datetime) -> list[CourseKind]:
    """Count roster people and each mandatory item's completions into ``rows``; returns the
    mandatory kinds of the roles shown, in catalogue order."""
    county_ids = sorted({k[0] for k in rows})
    rosters = {r.id: r for r in session.scalars(
        sa.select(Roster).where(Roster.county_id.in_(county_ids), Roster.cohort.in_(cohorts)))}
    if not rosters:
        return []
    mandatory = session.execute(
        sa.select(KindRole.role, CourseKind).join(CourseKind, CourseKind.id == KindRole.kind_id)
        .where(KindRole.mandatory.is_(True), KindRole.role.in_({r.role for r in rosters.values()}))
        .order_by(CourseKind.position)).all()
    kinds_of: dict = {}
    kinds: dict[int, CourseKind] = {}
    for role, kind in mandatory:
        kinds_of.setdefault(role, []).append(kind.id)
        kinds[kind.id] = kind
    entries = session.execute(
        sa.select(RosterEntry.id, RosterEntry.roster_id, RosterEntry.hpr_number,
                  RosterEntry.email).where(RosterEntry.roster_id.in_(rosters))).all()
    hprs = sorted({e.hpr_number for e in entries if e.hpr_number})
    emails = sorted({e.email for e in entries})
    person = [sa.func.lower(Participant.email).in_(emails or [""])]
    if hprs:
        person.append(Participant.hpr_number.in_(hprs))
    enrollments = session.execute(
        sa.select(Enrollment.id, Enrollment.status, Enrollment.offering_id,
                  CourseOffering.county_id, CourseOffering.kind_id,
                  Participant.hpr_number, Participant.email)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .join(CourseOffering, CourseOffering.id == Enrollment.offering_id)
        .where(CourseOffering.county_id.in_(county_ids),
               CourseOffering.kind_id.in_(kinds or [0]),
               Enrollment.status.in_(ACTIVE_STATUSES), sa.or_(*person))
        .order_by(Enrollment.id)).all()
    chosen = {(m.roster_id, m.enrollment_id): m.entry_id for m in session.execute(
        sa.select(RosterMatch.roster_id, RosterMatch.enrollment_id, RosterMatch.entry_id)
        .where(RosterMatch.roster_id.in_(rosters)))}
    confirmed = [e for e in enrollments if e.status == EnrollmentStatus.CONFIRMED]
    ended = set(session.scalars(
        sa.select(CourseSession.offering_id)
        .where(CourseSession.offering_id.in_({e.offering_id for e in confirmed} or {0}))
        .group_by(CourseSession.offering_id)
        .having(sa.func.max(CourseSession.ends_at) <= now)))
    present = set(session.scalars(
        sa.select(Attendance.enrollment_id).distinct()
        .where(Attendance.enrollment_id.in_([e.id for e in confirmed] or [0]), ATTENDED)))
    attended = {e.id for e in confirmed if e.offering_id in ended and e.id in present}
    certified = set(certificate_facts(session, [e.id for e in enrollments]))

    # Each roster's own entries and candidates, then the rosters' rule of matching.
    entries_of: dict[int, list] = {}
    for entry in entries:
        entries_of.setdefault(entry.roster_id, []).append(entry)
    in_county: dict[int, list] = {}
    for enrollment in enrollments:
        in_county.setdefault(enrollment.county_id, []).append(enrollment)
    for roster in rosters.values():
        row = rows[(roster.county_id, roster.cohort)]
        own = entries_of.get(roster.id, [])
        codes = kinds_of.get(roster.role, [])
        row.people += len(own)
        for kind_id in codes:
            code = kinds[kind_id].code
            row.due[code] = row.due.get(code, 0) + len(own)
        by_hpr: dict[str, list] = {}
        by_email: dict[str, list] = {}
        for entry in own:
            if entry.hpr_number:
                by_hpr.setdefault(entry.hpr_number, []).append(entry)
            by_email.setdefault(entry.email, []).append(entry)
        by_id = {e.id: e for e in own}
        done: dict[tuple[int, int], int] = {}  # (entry, kind) -> 1 attended, 2 certificate
        for enrollment in in_county.get(roster.county_id, []):
            if enrollment.kind_id not in codes:
                continue
            view = SimpleNamespace(participant=SimpleNamespace(
                hpr_number=enrollment.hpr_number, email=enrollment.email))
            found = automatic_match(view, by_hpr, by_email)
            if (roster.id, enrollment.id) in chosen:
                found = by_id.get(chosen[(roster.id, enrollment.id)])
            if found is None or isinstance(found, list):
                continue
            level = 2 if enrollment.id in certified else 1 if enrollment.id in attended else 0
            key = (found.id, enrollment.kind_id)
            done[key] = max(done.get(key, 0), level)
        for (_, kind_id), level in done.items():
            code = kinds[kind_id].code
            if level >= 1:
                row.attended[code] = row.attended.get(code, 0) + 1
            if level == 2:
                row.certified[code] = row.certified.get(code, 0) + 1
    return list(kinds.values())


def _waiting(session: Session, rows: dict[Key, OverviewRow], cohorts: Sequence[date]) -> None:
    for county_id, cohort, waiting in session.execute(
            sa.select(CourseOffering.county_id, CourseOffering.cohort, sa.func.count(Enrollment.id))
            .join(Enrollment, Enrollment.offering_id == CourseOffering.id)
            .where(CourseOffering.county_id.in_({k[0] for k in rows}),
                   CourseOffering.cohort.in_(cohorts),
                   Enrollment.status == EnrollmentStatus.WAITLISTED)
            .group_by(CourseOffering.county_id, CourseOffering.cohort)):
        if (county_id, cohort) in rows:
            rows[(county_id, cohort)].waiting = int(waiting)


def _no_shows(session: Session, rows: dict[Key, OverviewRow], cohorts: Sequence[date],
              now: datetime) -> None:
    absent = sa.case((Attendance.present.is_(False), 1), else_=0)
    unmarked = sa.case((Attendance.enrollment_id.is_(None), 1), else_=0)
    for county_id, cohort, expected, absents, unrecorded in session.execute(
            sa.select(CourseOffering.county_id, CourseOffering.cohort, sa.func.count(),
                      sa.func.coalesce(sa.func.sum(absent), 0),
                      sa.func.coalesce(sa.func.sum(unmarked), 0))
            .select_from(CourseSession)
            .join(CourseOffering, CourseOffering.id == CourseSession.offering_id)
            .join(Enrollment, Enrollment.offering_id == CourseOffering.id)
            .outerjoin(Attendance, sa.and_(Attendance.session_id == CourseSession.id,
                                           Attendance.enrollment_id == Enrollment.id))
            .where(CourseOffering.county_id.in_({k[0] for k in rows}),
                   CourseOffering.cohort.in_(cohorts), CourseSession.ends_at <= now,
                   Enrollment.status == EnrollmentStatus.CONFIRMED)
            .group_by(CourseOffering.county_id, CourseOffering.cohort)):
        if (county_id, cohort) in rows:
            row = rows[(county_id, cohort)]
            row.expected, row.absent, row.not_recorded = (
                int(expected), int(absents), int(unrecorded))


def overview(session: Session, cohorts: Sequence[date], now: datetime,
             region: Region | None = None) -> Overview:
    """The national overview of ``cohorts`` (in ``region``, or all), in a fixed number of
    queries whatever the number of counties, rosters and people."""
    cohorts = tuple(sorted(set(cohorts)))
    stmt = sa.select(County).order_by(collated(County.name_nb))
    if region is not None:
        stmt = stmt.where(County.region == region)
    counties = {c.id: c for c in session.scalars(stmt)}
    if not cohorts or not counties:
        return Overview(cohorts, region, [], [])
    keys = _keys(session, counties, cohorts)
    order = list(counties)
    regions = list(Region)
    rows = {k: OverviewRow(counties[k[0]], k[1]) for k in sorted(
        keys, key=lambda k: (regions.index(counties[k[0]].region), order.index(k[0]), k[1]))}
    if not rows:
        return Overview(cohorts, region, [], [])
    kinds = _completion(session, rows, cohorts, now)
    _waiting(session, rows, cohorts)
    _no_shows(session, rows, cohorts, now)
    columns = overview_columns()
    for column in columns:
        figures = column.figures(session, sorted({k[0] for k in rows}), list(cohorts))
        for key, row in rows.items():
            row.extra.append(figures.get(key, column.empty))
    return Overview(cohorts, region, kinds, list(rows.values()), columns)
