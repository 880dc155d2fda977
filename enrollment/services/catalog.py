"""The public catalog: which offerings a visitor sees, filtered and paged in a fixed number of
queries whatever the number of rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from core.audit import AuditEvent
from core.collation import collated
from core.db import LARGEST_ID
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    KindRole,
    OfferingFacts,
    OfferingStatus,
    Role,
)
from enrollment.services.cohorts import SCHEME_MONTHS, scheme_of

# Ids are INTEGER columns: 32 bits on PostgreSQL, and SQLite's driver overflows past 64.


@dataclass(frozen=True)
class CatalogFilter:
    """What the visitor asked for; every field optional."""

    county_id: int | None = None
    kind_id: int | None = None
    role: Role | None = None
    cohort: date | None = None
    open_only: bool = False


class UnknownChoice(LookupError):
    """A filter value that names no county office or course kind; ``field`` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def make_filter(
    counties: list[County], kinds: list[CourseKind], *, county: str | None = None,
    kind: str | None = None, role: Role | None = None, cohort: date | None = None,
    open_only: bool = False,
) -> CatalogFilter:
    """The filter of a catalog request (the page's form, the API's query): an office by its
    slug and a kind by its code, among ``counties`` and ``kinds`` (``filter_choices``);
    ``UnknownChoice`` names the first value that matches none."""
    found_county = next((c for c in counties if c.slug == county), None)
    if county and found_county is None:
        raise UnknownChoice("county")
    found_kind = next((k for k in kinds if k.code == kind), None)
    if kind and found_kind is None:
        raise UnknownChoice("kind")
    return CatalogFilter(
        county_id=found_county.id if found_county else None,
        kind_id=found_kind.id if found_kind else None,
        role=role, cohort=cohort, open_only=open_only)


# The columns the catalog shows of an offering (and what its rules need).
_ROW_COLUMNS = (
    CourseOffering.id, CourseOffering.county_id, CourseOffering.kind_id, CourseOffering.cohort,
    CourseOffering.title_nn, CourseOffering.title_nb, CourseOffering.title_en,
    CourseOffering.venue, CourseOffering.capacity, CourseOffering.seats_taken,
    CourseOffering.status, CourseOffering.enroll_opens_at, CourseOffering.enroll_closes_at,
    CourseOffering.is_demo, CourseOffering.meeting_url,
)


class CatalogRow(OfferingFacts):
    """One offering as the catalog lists it, read with a plain ``select`` of the columns the
    list shows (no ORM objects to build and track): it answers ``title()``, ``seats_left``,
    ``is_full``, ``is_digital`` and ``enrollment_window(now)`` by the offering's own rules, its
    ``county`` and ``kind`` are the objects the filter form loaded, and its ``sessions`` are
    rows of ``offering_id``, ``starts_at`` and ``ends_at``, first day first."""

    __slots__ = (*(column.key for column in _ROW_COLUMNS), "county", "kind", "sessions")

    def __init__(self, row: sa.Row, county: County, kind: CourseKind, sessions: list):
        for column in _ROW_COLUMNS:
            setattr(self, column.key, getattr(row, column.key))
        self.county = county
        self.kind = kind
        self.sessions = sessions


@dataclass
class CatalogPage:
    """One page of offerings and what the pager needs."""

    offerings: list[CatalogRow]
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


def _visible(flt: CatalogFilter, now: datetime):
    """The ``select`` of visible offerings matching ``flt``, unordered, and the subquery of
    their first start and last end."""
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
        stmt = stmt.where(CourseOffering.open_for_enrollment(now))
    return stmt, bounds


def catalog_query(flt: CatalogFilter, now: datetime):
    """The ``select`` of visible offerings matching ``flt``, soonest first (then by id)."""
    stmt, bounds = _visible(flt, now)
    return stmt.order_by(bounds.c.first_start, CourseOffering.id)


def catalog_page(
    session: Session, flt: CatalogFilter, page: int, per_page: int, now: datetime,
    counties: list[County], kinds: list[CourseKind],
) -> CatalogPage:
    """Load one page of the catalog in two queries: the rows with the count of all that match,
    then their days. ``counties`` and ``kinds`` are every county and kind (``filter_choices``);
    the rows point at them."""
    found = session.execute(
        catalog_query(flt, now)
        .with_only_columns(*_ROW_COLUMNS, sa.func.count().over().label("total"))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if found:
        total = found[0].total
    else:  # past the last page, or nothing matches
        total = session.scalar(sa.select(sa.func.count()).select_from(
            catalog_query(flt, now).subquery()))
    return CatalogPage(_catalog_rows(session, found, counties, kinds), page, per_page, total or 0)


def catalog_after(
    session: Session, flt: CatalogFilter, after: tuple[datetime, int] | None, limit: int,
    now: datetime, counties: list[County], kinds: list[CourseKind],
) -> list[CatalogRow]:
    """Up to ``limit`` offerings of the catalog that come after ``after`` (the first start and
    id of the last one a client has), in the catalog's order: the same rows the pages list,
    paged by where the last page ended rather than by an offset, so a page is neither skipped
    nor repeated when offerings come and go between two calls."""
    stmt, bounds = _visible(flt, now)
    if after is not None:
        start, offering_id = after
        stmt = stmt.where(sa.or_(
            bounds.c.first_start > start,
            sa.and_(bounds.c.first_start == start, CourseOffering.id > offering_id)))
    found = session.execute(
        stmt.order_by(bounds.c.first_start, CourseOffering.id)
        .with_only_columns(*_ROW_COLUMNS).limit(limit)
    ).all()
    return _catalog_rows(session, found, counties, kinds)


def _catalog_rows(session: Session, found: list[sa.Row], counties: list[County],
                  kinds: list[CourseKind]) -> list[CatalogRow]:
    """The catalog's rows of ``found``, with their days in one more query."""
    days: dict[int, list[sa.Row]] = {row.id: [] for row in found}
    if days:
        for day in session.execute(
            sa.select(CourseSession.offering_id, CourseSession.starts_at, CourseSession.ends_at)
            .where(CourseSession.offering_id.in_(days))
            .order_by(CourseSession.starts_at, CourseSession.id)
        ):
            days[day.offering_id].append(day)
    county_by_id = {c.id: c for c in counties}
    kind_by_id = {k.id: k for k in kinds}
    return [CatalogRow(row, county_by_id[row.county_id], kind_by_id[row.kind_id], days[row.id])
            for row in found]


def load_offering(session: Session, offering_id: int) -> CourseOffering | None:
    """One visible offering with everything its public page shows, in three queries; None
    for a number no offering can have (the URL's integer is unbounded, the column is not)."""
    if not 1 <= offering_id <= LARGEST_ID:
        return None
    return session.scalars(
        sa.select(CourseOffering)
        .where(
            CourseOffering.id == offering_id,
            CourseOffering.status.in_([OfferingStatus.PUBLISHED, OfferingStatus.CANCELLED]),
        )
        .options(
            joinedload(CourseOffering.county),
            joinedload(CourseOffering.kind).selectinload(CourseKind.roles),
            joinedload(CourseOffering.kind).selectinload(CourseKind.objectives),
            # An offering has a few days: joined to its row rather than a query of their own.
            joinedload(CourseOffering.sessions),
        )
    ).unique().one_or_none()


def course_kinds(session: Session) -> list[CourseKind]:
    """Every course kind in the catalog's order, with its roles and learning objectives."""
    return list(session.scalars(
        sa.select(CourseKind).order_by(CourseKind.position, CourseKind.id)
        .options(selectinload(CourseKind.roles), selectinload(CourseKind.objectives))))


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
    """Counties, kinds and the cohorts that have published offerings, for the filter form
    (LIS1 doctors' municipal-start cohorts first, then turnus years, each by date)."""
    counties = list(session.scalars(sa.select(County).order_by(collated(County.name_nb))))
    kinds = list(session.scalars(sa.select(CourseKind).order_by(CourseKind.position)))
    cohorts = list(
        session.scalars(
            sa.select(CourseOffering.cohort)
            .where(CourseOffering.status == OfferingStatus.PUBLISHED,
                   CourseOffering.cohort.is_not(None))
            .distinct()
        )
    )
    order = list(SCHEME_MONTHS)
    cohorts.sort(key=lambda c: (order.index(scheme_of(c)) if scheme_of(c) else len(order), c))
    return counties, kinds, cohorts
