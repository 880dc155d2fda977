"""The national overview as CSV, in the participant list's dialect (``enrollment.exports``):
headers in the administrator's language, every text cell safe from being read as a formula,
counts as numbers, the no-show rate as a decimal share (0.125), amounts in øre as other
plugins give them."""

from __future__ import annotations

from flask_babel import gettext as _

from core import exports
from enrollment.services.cohorts import cohort_code
from enrollment.services.overview import Overview


def header(board: Overview) -> list[str]:
    """Region, county and cohort; the figures; a pair of columns per mandatory item; then the
    columns other plugins add."""
    items = []
    for kind in board.kinds:
        items += [_("%(item)s: due", item=kind.name()), _("%(item)s: attended", item=kind.name()),
                  _("%(item)s: certificate issued", item=kind.name())]
    extra = [str(title) for column in board.columns for title in column.csv_titles]
    return [exports.clean(label) for label in (
        _("Turnus region"), _("County governor office"), _("Cohort"), _("People in rosters"),
        *items, _("Waiting list"), _("Confirmed participants of ended course days"),
        _("Marked absent"), _("Not recorded"), _("No-show rate"), *extra)]


def lines(board: Overview) -> list[list[object]]:
    """One line per county and cohort."""
    result = []
    for row in board.rows:
        items = []
        for kind in board.kinds:
            items += [row.due.get(kind.code, 0), row.attended.get(kind.code, 0),
                      row.certified.get(kind.code, 0)]
        rate = "" if row.no_show_rate is None else f"{row.no_show_rate:.4f}"
        extra = [value for cell in row.extra for value in cell.values]
        result.append([exports.clean(row.county.region.title),
                       exports.clean(row.county.name()), cohort_code(row.cohort), row.people,
                       *items, row.waiting, row.expected, row.absent, row.not_recorded, rate,
                       *extra])
    return result


def to_csv(board: Overview) -> bytes:
    """The overview as CSV."""
    return exports.to_csv(header(board), lines(board))
