"""A cohort roster's completion table as CSV and as an Excel workbook, in the dialect of
every export (``core.exports``): headers and states in the staff member's language,
every text cell safe from being read as a formula."""

from __future__ import annotations

from flask_babel import gettext as _

from core import exports
from enrollment.services.completion import PersonCompletion, RosterCompletion


def header(table: RosterCompletion) -> list[str]:
    """The column headers: the person, then one column per mandatory course kind."""
    return [exports.clean(label) for label in (
        _("Name"), _("E-mail"), _("HPR number"), _("Municipality"), _("Start date"),
        *(kind.name() for kind in table.kinds))]


def lines(table: RosterCompletion, people: list[PersonCompletion]) -> list[list[object]]:
    """One line per person: the start date a date cell, every other cell text."""
    result = []
    for person in people:
        entry = person.entry
        texts = [exports.clean(v) for v in (entry.full_name, entry.email,
                                                 entry.hpr_number, entry.municipality.label)]
        states = [exports.clean(person.items[k.code].state.title) for k in table.kinds]
        result.append([*texts, entry.start_date, *states])
    return result


def to_csv(table: RosterCompletion, people: list[PersonCompletion]) -> bytes:
    """The table as CSV."""
    return exports.to_csv(header(table), lines(table, people))


def to_xlsx(table: RosterCompletion, people: list[PersonCompletion], title: str) -> bytes:
    """The table as an Excel workbook."""
    widths = (28, 32, 12, 24, 12, *(22 for _kind in table.kinds))
    return exports.to_xlsx(header(table), lines(table, people), title=title, widths=widths)
