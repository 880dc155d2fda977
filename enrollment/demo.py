"""A realistic demo data set, every offering of it marked as demo in the UI."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.i18n import OSLO
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
)


@dataclass(frozen=True)
class DemoOffering:
    """The recipe of one demo offering."""

    county: str
    kind: str
    cohort: date
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


DEMO_NAMES = [
    "Åse Ødegård", "Máret Čuđđá", "Ola Nordmann", "Kari Hansen", "Nils Ængsbråten",
    "Ingrid Bjørnstad", "Sindre Haugland", "Eirin Vågen", "Tor Sandvik", "Marte Lie",
    "Jonas Eide", "Sunniva Aas", "Henrik Berge", "Solveig Tveit", "Ahmed Karimi",
]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=OSLO)


def _weekday_on_or_after(day: date, weekday: int = 1) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def demo_recipes(now: datetime) -> list[DemoOffering]:
    """The demo offerings, dated from ``now`` so the set stays current."""
    year = now.year + 1
    spring, autumn = date(year, 3, 1), date(year, 9, 1)
    current = date(now.year, 9, 1) if now.month >= 9 else date(now.year, 3, 1)

    def run(start: date, count: int, step: int = 1) -> tuple[date, ...]:
        first = _weekday_on_or_after(start)
        return tuple(first + timedelta(days=i * step) for i in range(count))

    soon = _weekday_on_or_after((now + timedelta(days=16)).date())
    return [
        DemoOffering("vestland", "public_health", spring, "Scandic Ørnen, Bergen",
                     run(date(year, 4, 13), 3), capacity=40, confirmed=6),
        DemoOffering("vestland", "emergency_medicine", spring, "Haukeland universitetssjukehus",
                     run(date(year, 5, 4), 2), hours=(8, 16), capacity=12,
                     confirmed=12, waitlisted=3),
        DemoOffering("vestland", "group_guidance", spring,
                     "Statsforvaltaren, Njøsavegen 2, Leikanger",
                     run(date(year, 3, 16), 6, step=28), hours=(12, 15), capacity=8,
                     confirmed=5, closes_before_days=3),
        DemoOffering("vestland", "supervisor_training_lis1", spring, "Digitalt (Teams)",
                     run(date(year, 2, 9), 1), hours=(9, 15), refund_eligible=False),
        DemoOffering("rogaland", "physio_intern_course", autumn, "Clarion Hotel Energy, Stavanger",
                     run(date(year, 10, 5), 2), capacity=35, confirmed=3),
        DemoOffering("rogaland", "supervisor_training_physio", autumn,
                     "Statsforvalteren, Stavanger",
                     run(date(year, 9, 21), 1), hours=(10, 15), refund_eligible=False,
                     requires_approval=True),
        DemoOffering("trondelag", "public_health", autumn, "Scandic Nidelven, Trondheim",
                     run(date(year, 10, 19), 3), capacity=45, confirmed=10),
        DemoOffering("trondelag", "emergency_medicine", autumn, "St. Olavs hospital, Trondheim",
                     run(date(year, 11, 2), 2), hours=(8, 16), capacity=20),
        DemoOffering("nordland", "emergency_medicine", current, "Nordlandssykehuset, Bodø",
                     run(soon, 2), hours=(8, 16), capacity=16, confirmed=9,
                     closes_at=now - timedelta(days=2)),
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
        role = next(iter(sorted(kind.role_set)))
        _add_people(session, offering, recipe, role)
        created += 1
    session.flush()
    return created
