"""Factories shared by the refunds tests: rates, an enrollment, draft and submitted claims.

Plain functions taking the ``app`` (and the ``make_offering`` / ``make_staff`` factories), so
the test modules need no fixtures of their own. The course runs on 5 and 6 January 2026; the
claim window is then 2026-01-05 to 2026-04-06. A claim is submitted only for a session
attended, so ``make_enrollment`` marks the participant present at every session that has
begun (pass ``attended=False`` for none); the journey window is then 4 to 7 January 2026.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from core.auth import StaffUser
from core.db import session_scope, utcnow
from core.i18n import to_local
from enrollment.models import (
    Attendance,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services.links import new_token
from refunds.cli import load_rate_schemes
from refunds.lines import CostInput, LegInput, LineInput
from refunds.models import LineKind, TravelMeans
from refunds.services.claims import create_draft, submit_claim, update_draft

FIRST_DAY = datetime(2026, 1, 5, tzinfo=UTC)
IN_WINDOW = datetime(2026, 1, 10, 9, tzinfo=UTC)
TRAVEL_DAY = date(2026, 1, 5)
VALID_ACCOUNT = "86011117947"


def engine_of(app):
    return app.extensions["kp_engine"]


def load_rates(app) -> None:
    with session_scope(engine_of(app)) as session:
        load_rate_schemes(session)


def attend(app, enrollment_id: int, present: bool = True,
           days: Sequence[date] | None = None) -> None:
    """Mark the participant ``present`` (or absent) at the sessions of their offering that
    have begun, or at those on ``days`` (Oslo dates); rows written directly, as staff would."""
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        sessions = session.scalars(
            sa.select(CourseSession).where(CourseSession.offering_id == enrollment.offering_id)
            .order_by(CourseSession.starts_at)).all()
        for course_session in sessions:
            if days is None:
                wanted = course_session.starts_at <= utcnow()
            else:
                wanted = to_local(course_session.starts_at).date() in days
            if wanted:
                session.merge(Attendance(enrollment_id=enrollment_id,
                                         session_id=course_session.id, present=present))


def make_enrollment(
    app, make_offering, *, email: str = "lege@example.no", role: Role = Role.LIS1,
    status: EnrollmentStatus = EnrollmentStatus.CONFIRMED, name: str = "Lege Legesen",
    offering_id: int | None = None, attended: bool = True, **offering_values,
) -> int:
    """A participant's enrollment in a new offering (or ``offering_id``), present at every
    session that has begun unless ``attended`` is False; returns its id."""
    if offering_id is None:
        offering_values.setdefault("first_day", FIRST_DAY)
        offering_id = make_offering(**offering_values).id
    with session_scope(engine_of(app)) as session:
        participant = Participant(full_name=name, email=email, role=role, locale="nn")
        enrollment = Enrollment(
            offering_id=offering_id, participant=participant, status=status,
            manage_links=[ManageLink(token_hash=secrets.token_hex(32))],
        )
        session.add(enrollment)
        session.flush()
        enrollment_id = enrollment.id
    if attended:
        attend(app, enrollment_id)
    return enrollment_id


def attending_participant(app, offering_id: int, locale: str = "nn") -> tuple[int, str]:
    """Åse Ødegård, a LIS1 doctor with a confirmed seat in ``offering_id``, present at every
    session that has begun, and a manage link of her own; returns (enrollment id, token)."""
    token, digest = new_token()
    with session_scope(engine_of(app)) as session:
        enrollment = Enrollment(
            offering_id=offering_id, status=EnrollmentStatus.CONFIRMED,
            manage_links=[ManageLink(token_hash=digest)],
            participant=Participant(full_name="Åse Ødegård", email="ase@example.no",
                                    role=Role.LIS1, locale=locale),
        )
        session.add(enrollment)
        session.flush()
        enrollment_id = enrollment.id
    attend(app, enrollment_id)
    return enrollment_id, token


def car_leg(day: date = TRAVEL_DAY, km: int | str = 100, **values) -> LegInput:
    return LegInput(travel_date=day, from_place="Florø", to_place="Bergen",
                    means=TravelMeans.OWN_CAR, km=Decimal(str(km)), **values)


def toll(day: date = TRAVEL_DAY, amount: int = 4_550, receipt_id: int | None = None):
    return CostInput(LineKind.TOLL, day, amount, "Bompengar", receipt_id=receipt_id)


def draft_claim(
    app, enrollment_id: int, *, lines: Sequence[LineInput] | None = None,
    bank: str = VALID_ACCOUNT, now: datetime = IN_WINDOW,
) -> int:
    """A draft with ``lines`` (default: one car leg of 100 km); returns the claim id."""
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        claim = create_draft(session, enrollment, now=now)
        update_draft(session, claim.id, lines=lines or [car_leg()], bank_account=bank,
                              comment="", now=now)
        return claim.id


def submitted_claim(app, enrollment_id: int, **values) -> int:
    claim_id = draft_claim(app, enrollment_id, **values)
    with app.app_context(), session_scope(engine_of(app)) as session:  # events need the app
        submit_claim(session, claim_id, now=IN_WINDOW)
    return claim_id


def staff_user(app, user_id: int) -> StaffUser:
    """The staff account as a detached object to pass as ``actor``."""
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(StaffUser).where(StaffUser.id == user_id))
