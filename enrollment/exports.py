"""The participant list of an offering as CSV and as an Excel workbook (XLSX), for staff.

Column headers, roles and statuses are in the language of the staff member asking (the active
locale); times are Europe/Oslo. The file conventions (``;``-separated UTF-8 with a BOM, text
cells that never become formulas) are every export's: ``core.exports``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import exports as files
from core.i18n import to_local
from enrollment.services.participants import Roster

# The names other modules and the tests have always used, now core's.
CSV_DELIMITER = files.CSV_DELIMITER
CSV_MIMETYPE = files.CSV_CONTENT_TYPE
XLSX_MIMETYPE = files.XLSX_CONTENT_TYPE
ILLEGAL_CHARACTERS_RE = files.ILLEGAL_CHARACTERS_RE
FORMULA_START = files.FORMULA_START
HIDING_START = files.HIDING_START
DATETIME_FORMAT = files.DATETIME_FORMAT
neutralise = files.neutralise

HEADERS = (
    _l("Name"), _l("E-mail"), _l("Phone"), _l("Role"), _l("HPR number"), _l("Employer"),
    _l("Status"), _l("Waiting list position"), _l("Needs"), _l("Enrolled at (Oslo time)"),
)
WIDTHS = (28, 32, 16, 22, 12, 28, 18, 10, 40, 18)


def _text(value: object) -> str:
    """A text cell: no characters XLSX cannot hold (the writers keep it from being a formula)."""
    return files.clean(value or "")


def header() -> list[str]:
    """The column headers in the active language."""
    return [_text(label) for label in HEADERS]


def rows(roster: Roster) -> list[list[object]]:
    """The lines of the list, typed cells in column order: confirmed, pending, the waiting list
    in order, then the cancelled and rejected. Texts as the person wrote them (``to_csv`` and
    ``to_xlsx`` keep them from running as formulas); the waiting-list place a number or None;
    the enrollment time a naive Europe/Oslo wall-clock time."""
    result = []
    for enrollment, position in roster.rows():
        person = enrollment.participant
        texts = (person.full_name, person.email, person.phone, enrollment.role.title,
                 person.hpr_number, person.employer, enrollment.status_title)
        enrolled_at = to_local(enrollment.arrived_at).replace(tzinfo=None, second=0,
                                                              microsecond=0)
        result.append([*map(_text, texts), position, _text(enrollment.needs), enrolled_at])
    return result


def to_csv(roster: Roster) -> bytes:
    """The list as CSV (``core.exports``' dialect)."""
    return files.to_csv(header(), rows(roster))


def to_xlsx(roster: Roster, sheet_title: str = "") -> bytes:
    """The list as an Excel workbook with one sheet, the header row frozen."""
    return files.to_xlsx(header(), rows(roster), title=sheet_title or _("Participants"),
                         widths=WIDTHS)
