"""The public read API of the catalog: offerings, one offering, course kinds.

Each answer is what the catalog and the course page show, from the same services: the rows of
``catalog.catalog_after`` are the catalog page's (published and cancelled offerings whose last
day has not passed, demo offerings included and flagged, in its order), one offering is the
course page's ``catalog.load_offering`` (404 where the page is 404), and seats, the enrollment
window, titles and the refund sentence come from the offerings' own rules
(``OfferingFacts``, ``template_globals``). Only learning objectives an office has confirmed are
given, as on the course page; a kind says how many more are waiting for confirmation.

Filters take the values ``/counties`` and ``/course-kinds`` list; an office slug or kind code
that names none matches no offering (an empty page, 200), as a filter on a list does: the
contract cannot list them (they are data), so a client may send any, and gets a true answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel, Field
from spectree import Response

from core.api.operations import public
from core.api.problems import FieldProblem, Problem, problem
from core.api.routes import Localised
from core.api.spec import link, spec
from core.api.web import BadCursor, bad_cursor, decode_time_cursor, encode_cursor, public_json
from core.db import get_session, utcnow
from core.i18n import LOCALES
from core.routes import Routes
from core.web import external_url
from enrollment.models import EnrollmentWindow, Role
from enrollment.services import catalog, cohorts
from enrollment.template_globals import refund_statement, refunded_roles, roles_in_order

routes = Routes()

RoleCode = Literal["lis1", "physio_intern", "chiro_intern", "supervisor"]
Language = Literal["nn", "nb", "en"]
# The cohorts ``cohorts.parse_cohort`` takes: a year from 2000 to 2100 and a scheme's month.
COHORT_PATTERN = r"^(20[0-9]{2}|2100)-(03|08|09)$"


def each_language(text: Callable[[str], str]) -> Localised:
    """``text(locale)`` in each of the three languages, translations forced to that one."""
    values = {}
    for locale in LOCALES:
        with force_locale(locale):
            values[locale] = str(text(locale))
    return Localised(**values)


# --- the contract -------------------------------------------------------------------------------


class CatalogQuery(BaseModel):
    """The catalog's filters (those of the catalog page) and where a page starts."""

    county: str | None = Field(None, max_length=60, description=(
        "Only this office's offerings: a slug from /counties (one that names no office "
        "matches no offering)."))
    kind: str | None = Field(None, max_length=40, description=(
        "Only this course kind: a code from /course-kinds (one that names no kind matches no "
        "offering)."))
    role: RoleCode | None = Field(None, description="Only courses this role may enroll in.")
    cohort: str | None = Field(None, pattern=COHORT_PATTERN, description=(
        "Only this cohort: 2026-03 or 2026-09 (LIS1 doctors' start of municipal service in "
        "March or September), 2026-08 (the physiotherapy interns' year from August 2026)."))
    open: bool = Field(False, description="Only offerings open for enrollment now.")
    limit: int = Field(25, ge=1, le=100, description="How many offerings a page holds.")
    cursor: str | None = Field(None, max_length=200, description=(
        "Where the page starts: the next_cursor of the page before, passed back unchanged."))


class CatalogOffering(BaseModel):
    """An offering as the catalog lists it."""

    id: int = Field(description="The offering's number (its course page is /courses/{id}).")
    status: Literal["published", "cancelled"] = Field(
        description="A cancelled offering stays listed, as on the catalog page, and takes no "
                    "enrollments.")
    is_demo: bool = Field(description="An example course (demo data), not a real offering.")
    title: Localised = Field(description="The title in each language (the office's language "
                                         "where one is missing, else the kind's name).")
    kind: str = Field(description="The course kind's code (see /course-kinds).")
    county: str = Field(description="The office's slug (see /counties).")
    cohort: str | None = Field(description="The cohort as the cohort filter takes it, or null.")
    starts_at: datetime | None = Field(description="When the first day or meeting starts (UTC).")
    ends_at: datetime | None = Field(description="When the last day or meeting ends (UTC).")
    venue: str = Field(description="Where the course is held, as the office wrote it.")
    digital: bool = Field(description="Held online: confirmed participants get the meeting "
                                      "link (never given here).")
    seats_total: int = Field(description="The number of seats.")
    seats_left: int = Field(description="Free seats, as the pages show them; 0 when full "
                                        "(enrolling then puts one on the waiting list).")
    enrollment: Literal["open", "not_published", "not_yet", "closed"] = Field(
        description="Whether enrollment is open now, and if not why: not_published (cancelled), "
                    "not_yet (before enrollment_opens_at), closed (the deadline has passed).")
    enrollment_open: bool = Field(description="Whether one can enroll now.")
    enrollment_opens_at: datetime = Field(description="When enrollment opens (UTC).")
    enrollment_deadline: datetime = Field(description="The enrollment deadline (UTC); "
                                                      "enrollment closes at this moment.")
    url: str = Field(description="The offering's course page, where one enrolls.")


class CatalogOfferingPage(BaseModel):
    """One page of the catalog, in its order: soonest first day first, then by id."""

    items: list[CatalogOffering] = Field(description="The offerings of this page.")
    next_cursor: str | None = Field(description="The cursor of the next page; null on the last.")


class CatalogSession(BaseModel):
    """One day of a course or one meeting of a guidance group."""

    starts_at: datetime = Field(description="When it starts (UTC).")
    ends_at: datetime = Field(description="When it ends (UTC).")
    place: str = Field(description="Where, as the course page shows it (the day's own place, "
                                   "else the offering's venue).")
    digital: bool = Field(description="Held online (the offering's meeting link).")


class CatalogRole(BaseModel):
    """A role that may enroll."""

    code: RoleCode = Field(description="The role, as the role filter takes it.")
    name: Localised = Field(description="The role's name.")


class CatalogObjective(BaseModel):
    """A learning objective an office has confirmed against Helsedirektoratet's source."""

    code: str = Field(description="Our key of the objective within its kind.")
    official_number: str = Field(description="Helsedirektoratet's number (DEL1-…, FKM-…).")
    text: Localised = Field(description="The objective's wording.")
    translated: list[Language] = Field(description="The languages whose text is our "
                                                   "translation of the official Bokmål wording.")
    source_url: str | None = Field(description="Where the official wording is published.")
    version_date: date | None = Field(description="The date the version in force applies from.")


class CatalogRefund(BaseModel):
    """Whether travel costs are refunded, as the course page says it."""

    eligible: bool = Field(description="Whether anyone who may enroll can claim travel costs.")
    refunded_roles: list[RoleCode] = Field(description="The roles whose travel costs are "
                                                       "refunded.")
    statement: Localised | None = Field(description="The course page's sentence; null where "
                                                    "this server takes no travel claims.")


class CatalogOfferingDetail(CatalogOffering):
    """One offering as its course page shows it."""

    description: Localised = Field(description="The office's description (may be empty).")
    office: Localised = Field(description="The office's full name.")
    email: str = Field(description="The office's address for questions.")
    requires_approval: bool = Field(description="Enrollments are approved by the office.")
    sessions: list[CatalogSession] = Field(description="Every day or meeting, first first.")
    roles: list[CatalogRole] = Field(description="Who may enroll.")
    objectives: list[CatalogObjective] = Field(description="The confirmed learning objectives "
                                                           "the course covers.")
    refund: CatalogRefund = Field(description="Whether travel costs are refunded.")


class CatalogCourseKind(BaseModel):
    """A kind of course, with who may enroll and the learning objectives it covers."""

    code: str = Field(description="The kind's code, as the kind filter takes it.")
    name: Localised = Field(description="The kind's name.")
    roles: list[CatalogRole] = Field(description="Who may enroll in its offerings.")
    objectives: list[CatalogObjective] = Field(description="The learning objectives an office "
                                                           "has confirmed.")
    objectives_to_be_confirmed: int = Field(description=(
        "How many more learning objectives of the kind are still to be confirmed by the office: "
        "they are not given (nor shown on public pages or certificates) until then."))


class CatalogCourseKindList(BaseModel):
    """Every course kind, in the catalog's order."""

    items: list[CatalogCourseKind] = Field(description="The course kinds.")


# --- answers from the services' objects ---------------------------------------------------------


def _role(role: Role) -> CatalogRole:
    return CatalogRole(code=role.value, name=each_language(lambda _locale: role.title))


def _objectives(objectives) -> list[CatalogObjective]:
    """The objectives the course page shows (confirmed, with their number), in its order."""
    return [CatalogObjective(
        code=o.code, official_number=o.official_number,
        text=each_language(o.text), translated=sorted(o.translated_locales & set(LOCALES)),
        source_url=o.source_url or None, version_date=o.version_date)
        for o in objectives if o.printable]


def _offering(o, days, now: datetime, model=CatalogOffering, **more):
    """``o`` (a catalog row or an offering) as the catalog lists it; ``days`` its sessions."""
    window = o.enrollment_window(now)
    return model(
        id=o.id, status=o.status.value, is_demo=o.is_demo,
        title=each_language(o.title), kind=o.kind.code, county=o.county.slug,
        cohort=cohorts.cohort_code(o.cohort) if o.cohort else None,
        starts_at=days[0].starts_at if days else None,
        ends_at=max(d.ends_at for d in days) if days else None,
        venue=o.venue, digital=o.is_digital, seats_total=o.capacity, seats_left=o.seats_left,
        enrollment=window.value, enrollment_open=window == EnrollmentWindow.OPEN,
        enrollment_opens_at=o.enroll_opens_at, enrollment_deadline=o.enroll_closes_at,
        url=external_url("enrollment.show_course", offering_id=o.id), **more)


def _refund(offering) -> CatalogRefund:
    refunded = refunded_roles(offering)
    if refunded is None:  # no plugin takes travel claims here
        return CatalogRefund(eligible=False, refunded_roles=[], statement=None)
    return CatalogRefund(eligible=bool(refunded), refunded_roles=[r.value for r in refunded],
                         statement=each_language(lambda _locale: refund_statement(offering)))


# --- the operations -----------------------------------------------------------------------------


@routes.get("/api/v1/offerings")
@public
@spec.validate(query=CatalogQuery, resp=Response(
    HTTP_200=CatalogOfferingPage, HTTP_400=Problem, HTTP_422=Problem),
    tags=["catalog"], operation_id="listOfferings")
def list_offerings(query: CatalogQuery):
    """The catalog

    The offerings the catalog page lists, with its filters, a page at a time."""
    cohort = cohorts.parse_cohort(query.cohort) if query.cohort else None
    if query.cohort and cohort is None:  # the pattern says the same: never, but not a 500
        return problem(422, _("Some fields do not match the contract."), errors=[
            FieldProblem(field="cohort", message=_("Unknown cohort."))])
    try:
        # The first start and id of the last offering the client has.
        after = decode_time_cursor(query.cursor) if query.cursor is not None else None
    except BadCursor:
        return bad_cursor()
    session = get_session()
    counties, kinds, _cohorts = catalog.filter_choices(session)
    try:
        flt = catalog.make_filter(counties, kinds, county=query.county, kind=query.kind,
                                  role=Role(query.role) if query.role else None,
                                  cohort=cohort, open_only=query.open)
    except catalog.UnknownChoice:  # a county or kind named wrong has no offerings
        return public_json(CatalogOfferingPage(items=[], next_cursor=None))
    now = utcnow()
    rows = catalog.catalog_after(session, flt, after, query.limit + 1, now, counties, kinds)
    page, more = rows[:query.limit], len(rows) > query.limit
    last = page[-1] if page else None
    return public_json(CatalogOfferingPage(
        items=[_offering(row, row.sessions, now) for row in page],
        next_cursor=encode_cursor([last.sessions[0].starts_at.isoformat(), last.id])
        if more else None))


link("listOfferings", 200, "getOffering", "getOffering",
     {"offering_id": "$response.body#/items/0/id"})


@routes.get("/api/v1/offerings/<int:offering_id>")
@public
@spec.validate(resp=Response(HTTP_200=CatalogOfferingDetail, HTTP_404=Problem),
               tags=["catalog"], operation_id="getOffering")
def get_offering(offering_id: int):
    """One offering

    What its course page shows: its days, seats, enrollment, who may enroll, the learning
    objectives it covers and whether travel costs are refunded."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        return problem(404, _("There is no published course with this number."))
    county = offering.county
    return public_json(_offering(
        offering, offering.sessions, utcnow(), CatalogOfferingDetail,
        description=each_language(offering.description),
        office=each_language(county.office), email=county.email,
        requires_approval=offering.requires_approval,
        sessions=[CatalogSession(starts_at=s.starts_at, ends_at=s.ends_at,
                                 place=s.place or offering.venue, digital=offering.is_digital)
                  for s in offering.sessions],
        roles=[_role(r) for r in roles_in_order(offering.kind.role_set)],
        objectives=_objectives(offering.kind.objectives), refund=_refund(offering)))


@routes.get("/api/v1/course-kinds")
@public
@spec.validate(resp=Response(HTTP_200=CatalogCourseKindList), tags=["catalog"],
               operation_id="listCourseKinds")
def list_course_kinds():
    """The course kinds

    Each with who may enroll and the learning objectives it covers; the ``code`` of each is
    what ``/offerings?kind=`` takes."""
    return public_json(CatalogCourseKindList(items=[CatalogCourseKind(
        code=k.code, name=each_language(k.name),
        roles=[_role(r) for r in roles_in_order(k.role_set)],
        objectives=_objectives(k.objectives),
        objectives_to_be_confirmed=sum(1 for o in k.objectives if not o.printable))
        for k in catalog.course_kinds(get_session())]))

