"""A realistic demo data set, every offering of it marked as demo in the UI.

Dated from the day it is loaded, the way an office plans: no course day in the Christmas week
(24 December to 1 January) or the July holiday; LIS1 courses in the municipal-start cohort
(March/September) of their course days, the interns' course in its turnus year, one supervisor
course without a cohort. One course lies in the past and tells its whole story truthfully:
attendance marked during each day, after it began; the day after the course ended, other
plugins add what they would hold by then (``enrollment.panels.register_demo_step``: the
certificates plugin issues certificates to those who attended every day). That course's
office keeps a small roster of its cohort (``_seed_roster``), imported the way staff import one,
so the completion page shows a person in each state and one enrollment matched by hand.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.i18n import OSLO
from core.models import County
from enrollment.models import (
    CohortScheme,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
    RosterMatch,
)
from enrollment.panels import demo_steps
from enrollment.services import rosters
from enrollment.services.attendance import Mark, save_attendance
from enrollment.services.cohorts import cohort_containing


@dataclass(frozen=True)
class DemoOffering:
    """The recipe of one demo offering."""

    county: str
    kind: str
    cohort: date | None
    venue: str
    days: tuple[date, ...]
    hours: tuple[int, int] = (9, 16)
    capacity: int = 30
    confirmed: int = 0
    waitlisted: int = 0
    closes_before_days: int = 21
    closes_at: datetime | None = None
    requires_approval: bool = False
    refund_eligible: bool = True
    # For a course in the past: who missed which day (index of participant → day indexes);
    # everyone else attended every day.
    missed: tuple[tuple[int, tuple[int, ...]], ...] = ()


DEMO_NAMES = [
    "Åse Ødegård", "Máret Čuđđá", "Ola Nordmann", "Kari Hansen", "Nils Ængsbråten",
    "Ingrid Bjørnstad", "Sindre Haugland", "Eirin Vågen", "Tor Sandvik", "Marte Lie",
    "Jonas Eide", "Sunniva Aas", "Henrik Berge", "Solveig Tveit", "Ahmed Karimi",
]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=OSLO)


def _weekday_on_or_after(day: date, weekday: int = 1) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def is_holiday(day: date) -> bool:
    """Whether no course is held on ``day``: the July holiday or 24 December – 1 January."""
    return day.month == 7 or (day.month == 12 and day.day >= 24) or (day.month, day.day) == (1, 1)


def course_days(start: date, count: int, step: int = 1, *, backwards: bool = False,
                ) -> tuple[date, ...]:
    """``count`` days from the first Tuesday on or after ``start``, ``step`` days apart, none
    in a holiday: a course of consecutive days moves whole, a week at a time (earlier when
    ``backwards``), meetings weeks apart each move to the week after."""
    week = timedelta(days=-7 if backwards else 7)
    first = _weekday_on_or_after(start)
    if step == 1:
        while any(is_holiday(first + timedelta(days=i)) for i in range(count)):
            first += week
        return tuple(first + timedelta(days=i) for i in range(count))
    days, day = [], first
    for _ in range(count):
        while is_holiday(day):
            day += timedelta(days=7)
        days.append(day)
        day += timedelta(days=step)
    return tuple(days)


def demo_recipes(now: datetime) -> list[DemoOffering]:
    """The demo offerings, dated from ``now`` so the set stays current."""
    year = now.year + 1
    spring, autumn = date(year, 3, 1), date(year, 9, 1)
    turnus_year = date(year, 8, 1)
    today = now.astimezone(OSLO).date()
    soon = course_days(today + timedelta(days=16), 2)
    # Ended at least seven weeks ago, so its certificates were issued well before today.
    held = course_days(today - timedelta(days=60), 3, backwards=True)
    municipal = CohortScheme.MUNICIPAL_START
    return [
        DemoOffering("vestland", "public_health", spring, "Scandic Ørnen, Bergen",
                     course_days(date(year, 4, 13), 3), capacity=40, confirmed=6),
        DemoOffering("vestland", "emergency_medicine", spring, "Haukeland universitetssjukehus",
                     course_days(date(year, 5, 4), 2), hours=(8, 16), capacity=12,
                     confirmed=12, waitlisted=3),
        # Six meetings three weeks apart in the spring cohort's months in the municipality.
        DemoOffering("vestland", "group_guidance", spring,
                     "Statsforvaltaren, Njøsavegen 2, Leikanger",
                     course_days(date(year, 3, 16), 6, step=21), hours=(12, 15), capacity=8,
                     confirmed=5, closes_before_days=3),
        # Supervisor training without a cohort: for every supervisor of LIS1 doctors.
        DemoOffering("vestland", "supervisor_training_lis1", None, "Digitalt (Teams)",
                     course_days(date(year, 2, 9), 1), hours=(9, 15), refund_eligible=False),
        # The interns' course early in their turnus year (which starts in mid-August).
        DemoOffering("rogaland", "physio_intern_course", turnus_year,
                     "Clarion Hotel Energy, Stavanger",
                     course_days(date(year, 10, 5), 2), capacity=35, confirmed=3),
        # The office set a cohort here: the supervisors of this turnus year's interns.
        DemoOffering("rogaland", "supervisor_training_physio", turnus_year,
                     "Statsforvalteren, Stavanger",
                     course_days(date(year, 9, 21), 1), hours=(10, 15), refund_eligible=False,
                     requires_approval=True),
        DemoOffering("trondelag", "public_health", autumn, "Scandic Nidelven, Trondheim",
                     course_days(date(year, 10, 19), 3), capacity=45, confirmed=10),
        DemoOffering("trondelag", "emergency_medicine", autumn, "St. Olavs hospital, Trondheim",
                     course_days(date(year, 11, 2), 2), hours=(8, 16), capacity=20),
        DemoOffering("nordland", "emergency_medicine", cohort_containing(municipal, soon[0]),
                     "Nordlandssykehuset, Bodø", soon, hours=(8, 16), capacity=16,
                     confirmed=9, closes_at=now - timedelta(days=2)),
        # Held already: one participant missed the second day, one came to none.
        DemoOffering("more-og-romsdal", "public_health", cohort_containing(municipal, held[0]),
                     "Scandic Seilet, Molde", held, hours=(9, 16), capacity=20, confirmed=8,
                     missed=((2, (1,)), (5, (0, 1, 2)))),
    ]


def _token_hash() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def _add_people(session: Session, offering: CourseOffering, recipe: DemoOffering, role: Role):
    for i in range(recipe.confirmed + recipe.waitlisted):
        name = DEMO_NAMES[i % len(DEMO_NAMES)]
        person = Participant(
            full_name=name, email=f"demo{offering.id}.{i}@example.no", phone="+47 400 00 000",
            role=role, hpr_number=f"9{offering.id:03d}{i:04d}" if role != Role.SUPERVISOR else None,
            employer="Demo kommune", locale="nn",
        )
        status = EnrollmentStatus.CONFIRMED if i < recipe.confirmed else EnrollmentStatus.WAITLISTED
        session.add(Enrollment(
            offering=offering, participant=person, status=status,
            manage_links=[ManageLink(token_hash=_token_hash())],
            arrived_at=offering.enroll_opens_at + timedelta(hours=i),
        ))
    offering.seats_taken = recipe.confirmed
    offering.waitlist_length = recipe.waitlisted
    offering.last_arrival_at = offering.enroll_opens_at + timedelta(
        hours=recipe.confirmed + recipe.waitlisted - 1) if recipe.confirmed + recipe.waitlisted \
        else None


def _record_what_happened(session: Session, offering: CourseOffering, recipe: DemoOffering,
                          now: datetime) -> None:
    """Attendance marked two hours into each course day, then the other plugins' demo steps the
    day after the last day (none before ``now``)."""
    session.flush()
    confirmed = sorted((e for e in session.scalars(
        sa.select(Enrollment).where(Enrollment.offering_id == offering.id,
                                    Enrollment.status == EnrollmentStatus.CONFIRMED))),
        key=lambda e: e.arrived_at)
    missed = dict(recipe.missed)
    for index, course_session in enumerate(offering.sessions):
        marks = {e.id: Mark.ABSENT if index in missed.get(i, ()) else Mark.PRESENT
                 for i, e in enumerate(confirmed)}
        save_attendance(session, course_session, marks, None,
                        now=course_session.starts_at + timedelta(hours=2))
    last_end = offering.sessions[-1].ends_at.astimezone(OSLO)
    wrapped_up_at = datetime.combine(last_end.date() + timedelta(days=1), time(10), tzinfo=OSLO)
    if wrapped_up_at > now:
        return
    for step in demo_steps():
        step(session, offering, confirmed, wrapped_up_at)


def _seed_roster(session: Session, offering: CourseOffering, now: datetime) -> None:
    """The held course's cohort as a roster: three of its participants (one with a
    certificate, one who missed a day, one who came to none), someone not enrolled, and someone
    whose address a participant used with another HPR number, which staff decided by hand."""
    people = sorted(session.scalars(sa.select(Enrollment).where(
        Enrollment.offering_id == offering.id)), key=lambda e: e.arrived_at)
    start = offering.cohort.isoformat()
    lines = [["Namn", "E-post", "HPR-nummer", "Rolle", "Kommune", "Oppstart"]]
    for i, municipality in ((0, "1506"), (2, "1508"), (5, "1505")):
        person = people[i].participant
        lines.append([person.full_name, person.email, person.hpr_number, "LIS1", municipality,
                      start])
    lines.append(["Jonas Eide", "jonas.eide@example.no", "91000001", "LIS1", "Hustadvika", start])
    lines.append(["Sunniva Aas", people[1].participant.email, "91000002", "LIS1", "1506", start])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(lines)
    upload = rosters.stage_import(session, county_id=offering.county_id, role=Role.LIS1,
                                  cohort=offering.cohort, filename="kull-demo.csv",
                                  data=buffer.getvalue().encode("utf-8-sig"), actor=None)
    roster = rosters.apply_import(session, upload.id, actor=None, now=now)
    session.add(RosterMatch(roster_id=roster.id, enrollment_id=people[1].id, entry_id=None,
                            chosen_at=now))
    session.flush()


def seed_demo(session: Session, now: datetime) -> int:
    """Create the demo offerings that do not exist yet; returns how many were created."""
    counties = {c.slug: c for c in session.scalars(sa.select(County))}
    kinds = {k.code: k for k in session.scalars(sa.select(CourseKind))}
    existing = {
        (o.county_id, o.kind_id, o.cohort)
        for o in session.scalars(sa.select(CourseOffering).where(CourseOffering.is_demo))
    }
    created = 0
    for recipe in demo_recipes(now):
        county, kind = counties[recipe.county], kinds[recipe.kind]
        if (county.id, kind.id, recipe.cohort) in existing:
            continue
        first = _at(recipe.days[0], recipe.hours[0])
        offering = CourseOffering(
            county=county, kind=kind, cohort=recipe.cohort, venue=recipe.venue,
            capacity=recipe.capacity, status=OfferingStatus.PUBLISHED, is_demo=True,
            enroll_opens_at=min(now - timedelta(days=30), first - timedelta(days=60)),
            enroll_closes_at=recipe.closes_at or first - timedelta(days=recipe.closes_before_days),
            cancel_deadline=first - timedelta(days=7),
            requires_approval=recipe.requires_approval, refund_eligible=recipe.refund_eligible,
            signer_name="Kari Nordmann", signer_title="fylkeslege",
            description_nn="Demokurs: innhaldet er døme på korleis eit kurs blir presentert.",
            description_nb="Demokurs: innholdet er eksempler på hvordan et kurs blir presentert.",
            description_en="Demo course: the content shows how a course is presented.",
        )
        offering.sessions = [
            CourseSession(starts_at=_at(d, recipe.hours[0]), ends_at=_at(d, recipe.hours[1]),
                          place=recipe.venue)
            for d in recipe.days
        ]
        session.add(offering)
        session.flush()
        # The kind's first role in the forms' order: physiotherapy interns before chiropractic.
        role = next(r for r in Role if r in kind.role_set)
        _add_people(session, offering, recipe, role)
        if offering.sessions[-1].ends_at < now:
            _record_what_happened(session, offering, recipe, now)
            if recipe.missed:
                _seed_roster(session, offering, now)
        created += 1
    session.flush()
    return created
