"""The public catalog: which offerings a visitor sees, filtered and paged in a fixed number of
queries whatever the number of rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload

from core.audit import AuditEvent
from core.collation import collated
from core.i18n import current_locale
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    KindRole,
    OfferingStatus,
    Role,
)


@dataclass(frozen=True)
class CatalogFilter:
    """What the visitor asked for; every field optional."""

    county_id: int | None = None
    kind_id: int | None = None
    role: Role | None = None
    cohort: date | None = None
    open_only: bool = False


@dataclass
class CatalogPage:
    """One page of offerings and what the pager needs."""

    offerings: list[CourseOffering]
    page: int
    per_page: int
    total: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(math.ceil(self.total / self.per_page), 1)


def _session_bounds():
    return (
        sa.select(
            CourseSession.offering_id.label("offering_id"),
            sa.func.min(CourseSession.starts_at).label("first_start"),
            sa.func.max(CourseSession.ends_at).label("last_end"),
        )
        .group_by(CourseSession.offering_id)
        .subquery()
    )


def catalog_query(flt: CatalogFilter, now: datetime):
    """The ``select`` of visible offerings matching ``flt``, soonest first."""
    bounds = _session_bounds()
    stmt = (
        sa.select(CourseOffering)
        .join(bounds, bounds.c.offering_id == CourseOffering.id)
        .where(
            CourseOffering.status.in_([OfferingStatus.PUBLISHED, OfferingStatus.CANCELLED]),
            bounds.c.last_end >= now,
        )
    )
    if flt.county_id is not None:
        stmt = stmt.where(CourseOffering.county_id == flt.county_id)
    if flt.kind_id is not None:
        stmt = stmt.where(CourseOffering.kind_id == flt.kind_id)
    if flt.role is not None:
        eligible = sa.select(KindRole.kind_id).where(KindRole.role == flt.role)
        stmt = stmt.where(CourseOffering.kind_id.in_(eligible))
    if flt.cohort is not None:
        stmt = stmt.where(CourseOffering.cohort == flt.cohort)
    if flt.open_only:
        stmt = stmt.where(
            CourseOffering.status == OfferingStatus.PUBLISHED,
            CourseOffering.enroll_opens_at <= now,
            CourseOffering.enroll_closes_at > now,
        )
    return stmt.order_by(bounds.c.first_start, CourseOffering.id)


def catalog_page(
    session: Session, flt: CatalogFilter, page: int, per_page: int, now: datetime
) -> CatalogPage:
    """Load one page of the catalog: a count, the rows, their sessions and kinds' roles."""
    stmt = catalog_query(flt, now)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = session.scalars(
        stmt.options(
            joinedload(CourseOffering.county),
            joinedload(CourseOffering.kind).selectinload(CourseKind.roles),
            selectinload(CourseOffering.sessions),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).unique()
    return CatalogPage(list(rows), page, per_page, total or 0)


def load_offering(session: Session, offering_id: int) -> CourseOffering | None:
    """One visible offering with everything its public page shows."""
    return session.scalar(
        sa.select(CourseOffering)
        .where(
            CourseOffering.id == offering_id,
            CourseOffering.status.in_([OfferingStatus.PUBLISHED, OfferingStatus.CANCELLED]),
        )
        .options(
            joinedload(CourseOffering.county),
            joinedload(CourseOffering.kind).selectinload(CourseKind.roles),
            joinedload(CourseOffering.kind).selectinload(CourseKind.objectives),
            selectinload(CourseOffering.sessions),
        )
    )


def last_change(session: Session, now: datetime) -> datetime | None:
    """When the public pages last changed, in one query: an offering saved (seats taken
    included), any staff change (every one writes an audit event: sessions, objectives,
    counties …), or an enrollment window opening or closing or a course ending on its own."""
    passed = [
        sa.select(sa.func.max(CourseOffering.updated_at)),
        sa.select(sa.func.max(AuditEvent.at)),
        sa.select(sa.func.max(CourseOffering.enroll_opens_at))
        .where(CourseOffering.enroll_opens_at <= now),
        sa.select(sa.func.max(CourseOffering.enroll_closes_at))
        .where(CourseOffering.enroll_closes_at <= now),
        sa.select(sa.func.max(CourseSession.ends_at)).where(CourseSession.ends_at <= now),
    ]
    row = session.execute(sa.select(*(q.scalar_subquery() for q in passed))).one()
    return max((moment for moment in row if moment is not None), default=None)


def filter_choices(session: Session) -> tuple[list[County], list[CourseKind], list[date]]:
    """Counties, kinds and the cohorts that have published offerings, for the filter form."""
    counties = list(session.scalars(sa.select(County).order_by(collated(County.name_nb))))
    kinds = list(session.scalars(sa.select(CourseKind).order_by(CourseKind.position)))
    cohorts = list(
        session.scalars(
            sa.select(CourseOffering.cohort)
            .where(CourseOffering.status == OfferingStatus.PUBLISHED)
            .distinct()
            .order_by(CourseOffering.cohort)
        )
    )
    return counties, kinds, cohorts


def cohort_code(cohort: date) -> str:
    """The URL form of a cohort: '2026-03'."""
    return cohort.strftime("%Y-%m")


def parse_cohort(code: str) -> date | None:
    """Parse '2026-03' or '2026-09' into the cohort's first day; None when malformed."""
    try:
        year, month = code.split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        parsed = date(int(year), int(month), 1)
    except ValueError:
        return None
    return parsed if parsed.month in (3, 9) and 2000 <= parsed.year <= 2100 else None


def cohort_label(cohort: date, locale: str | None = None) -> str:
    """'Spring 2026 — for those starting municipal service in March 2026', translated."""
    loc = {"en": "en_GB"}.get(locale or current_locale(), locale or current_locale())
    month = format_date(cohort, "LLLL y", locale=loc)
    if cohort.month == 3:
        return _("Spring %(year)s — for those starting municipal service in %(month)s",
                 year=cohort.year, month=month)
    return _("Autumn %(year)s — for those starting municipal service in %(month)s",
             year=cohort.year, month=month)


def cohort_short(cohort: date) -> str:
    """'Spring 2026' / 'Autumn 2026', translated."""
    if cohort.month == 3:
        return _("Spring %(year)s", year=cohort.year)
    return _("Autumn %(year)s", year=cohort.year)
