"""Cohorts: the group of starters an offering is for, by the scheme of its course kind.

LIS1 doctors start their six months in the municipality in March or September, so their
courses belong to a municipal-start cohort (stored as 1 March or 1 September). Physiotherapy
interns follow their turnus year, which starts in mid-August and lasts a year, so their courses
belong to a turnus-year cohort (stored as 1 August of the year it starts). Supervisor training
has a cohort only when the office sets one, in the scheme of the people supervised. Which
scheme a kind follows is data (``CourseKind.cohort_scheme``); the month tells the schemes
apart, so a stored cohort, a URL code ('2026-08') or a certificate snapshot can be labelled
without its kind.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from core.i18n import format_short_month
from enrollment.models import CohortScheme, CourseKind

# The months a cohort of each scheme starts in; a cohort is stored as the month's first day.
SCHEME_MONTHS: dict[CohortScheme, tuple[int, ...]] = {
    CohortScheme.MUNICIPAL_START: (3, 9),
    CohortScheme.TURNUS_YEAR: (8,),
}
FIRST_YEAR, LAST_YEAR = 2000, 2100


def scheme_of(cohort: date) -> CohortScheme | None:
    """The scheme a stored cohort belongs to, told by its month; None for no known scheme."""
    for scheme, months in SCHEME_MONTHS.items():
        if cohort.day == 1 and cohort.month in months:
            return scheme
    return None


def cohort_code(cohort: date) -> str:
    """The URL form of a cohort: '2026-03', '2026-09' or (a turnus year) '2026-08'."""
    return cohort.strftime("%Y-%m")


def parse_cohort(code: str, scheme: CohortScheme | None = None) -> date | None:
    """Parse a cohort code into the cohort's first day; None when malformed or when it is
    not a cohort of ``scheme`` (of any scheme when ``scheme`` is None)."""
    try:
        year, month = code.split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        parsed = date(int(year), int(month), 1)
    except ValueError:
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return None
    found = scheme_of(parsed)
    if found is None or (scheme is not None and found != scheme):
        return None
    return parsed


def cohort_fits(kind: CourseKind, cohort: date | None) -> bool:
    """Whether an offering of ``kind`` may have ``cohort``: one of the kind's scheme, or none
    where the kind needs none (supervisor training)."""
    if cohort is None:
        return not kind.cohort_required
    return scheme_of(cohort) == kind.cohort_scheme


def cohort_containing(scheme: CohortScheme, day: date) -> date:
    """The cohort of ``scheme`` that is in service on ``day``."""
    months = SCHEME_MONTHS[scheme]
    started = [m for m in months if m <= day.month]
    if started:
        return date(day.year, max(started), 1)
    return date(day.year - 1, max(months), 1)


def next_cohort(cohort: date) -> date:
    """The cohort of the same scheme that starts after ``cohort``."""
    months = SCHEME_MONTHS[scheme_of(cohort) or CohortScheme.MUNICIPAL_START]
    later = [m for m in months if m > cohort.month]
    if later:
        return date(cohort.year, min(later), 1)
    return date(cohort.year + 1, min(months), 1)


def cohorts_around(scheme: CohortScheme, today: date) -> tuple[date, date]:
    """The cohort of ``scheme`` in service on ``today`` and the next one."""
    current = cohort_containing(scheme, today)
    return current, next_cohort(current)


def cohorts_between(scheme: CohortScheme, first_year: int, last_year: int) -> list[date]:
    """Every cohort of ``scheme`` that starts in the years ``first_year`` to ``last_year``."""
    return [date(y, m, 1) for y in range(first_year, last_year + 1)
            for m in SCHEME_MONTHS[scheme]]


def _turnus_years(cohort: date) -> dict[str, str]:
    return {"start": str(cohort.year), "end": f"{(cohort.year + 1) % 100:02d}"}


def cohort_label(cohort: date | None, locale: str | None = None) -> str:
    """The cohort in words, translated: 'Spring 2026 — for those starting municipal service
    in March 2026', 'Internship year 2026/27 — …', or 'No cohort'."""
    if cohort is None:
        return _("No cohort")
    month = format_short_month(cohort, locale)
    if scheme_of(cohort) == CohortScheme.TURNUS_YEAR:
        return _("Internship year %(start)s/%(end)s — for those starting their internship in "
                 "%(month)s", month=month, **_turnus_years(cohort))
    if cohort.month == 3:
        return _("Spring %(year)s — for those starting municipal service in %(month)s",
                 year=cohort.year, month=month)
    return _("Autumn %(year)s — for those starting municipal service in %(month)s",
             year=cohort.year, month=month)


def cohort_short(cohort: date | None) -> str:
    """'Spring 2026', 'Autumn 2026', 'Internship year 2026/27' or 'No cohort', translated."""
    if cohort is None:
        return _("No cohort")
    if scheme_of(cohort) == CohortScheme.TURNUS_YEAR:
        return _("Internship year %(start)s/%(end)s", **_turnus_years(cohort))
    if cohort.month == 3:
        return _("Spring %(year)s", year=cohort.year)
    return _("Autumn %(year)s", year=cohort.year)
