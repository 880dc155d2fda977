"""The claims paid, as a column of the administrators' national overview
(``enrollment.panels.OverviewColumn``): per county and cohort of the claim's course offering,
how many claims were paid and for how much (the approved total, else the claimed one), in one
aggregate query."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.i18n import format_money, format_number
from enrollment.models import CourseOffering
from enrollment.panels import OverviewCell, OverviewColumn
from refunds.models import Claim, ClaimStatus


def paid_figures(session: Session, county_ids: list[int],
                 cohorts: list[date]) -> dict[tuple[int, date], OverviewCell]:
    """``{(county id, cohort): cell}`` for the paid claims of those offerings."""
    amount = sa.func.coalesce(Claim.approved_total_ore, Claim.total_ore)
    rows = session.execute(
        sa.select(CourseOffering.county_id, CourseOffering.cohort, sa.func.count(Claim.id),
                  sa.func.coalesce(sa.func.sum(amount), 0))
        .join(CourseOffering, CourseOffering.id == Claim.offering_id)
        .where(Claim.status == ClaimStatus.PAID, CourseOffering.county_id.in_(county_ids),
               CourseOffering.cohort.in_(cohorts))
        .group_by(CourseOffering.county_id, CourseOffering.cohort))
    return {(county_id, cohort): _cell(int(count), int(ore))
            for county_id, cohort, count, ore in rows}


def _cell(count: int, ore: int) -> OverviewCell:
    return OverviewCell(_("%(count)s paid, %(amount)s", count=format_number(count),
                          amount=format_money(ore)), (count, ore))


def total(cells: list[OverviewCell]) -> OverviewCell:
    """A region's claims paid: its counties' counts and amounts summed."""
    return _cell(sum(c.values[0] for c in cells), sum(c.values[1] for c in cells))


COLUMN = OverviewColumn(
    title=_l("Claims paid"),
    csv_titles=(_l("Claims paid"), _l("Amount paid (øre)")),
    figures=paid_figures,
    empty=OverviewCell("–", (0, 0)),
    total=total,
)
