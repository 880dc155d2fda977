"""The participant list of an offering as CSV and as an Excel workbook (XLSX), for staff.

Column headers, roles and statuses are in the language of the staff member asking (the active
locale); times are Europe/Oslo.

CSV dialect: UTF-8 with a byte-order mark, ``;`` between fields, CRLF line ends, fields quoted
when needed. That is what Excel with Norwegian regional settings (where ``,`` is the decimal
sign and ``;`` the list separator) opens correctly by double-click; LibreOffice detects it.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(also after leading spaces), and a leading tab or carriage return can hide such a start. Every
text cell that could be read that way is prefixed with a single quote (``'``), so it is shown
as the text it is: a participant's name can never become a formula on staff computers.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.i18n import to_local
from enrollment.services.participants import Roster

CSV_DELIMITER = ";"
# The control characters an XLSX cell cannot hold: openpyxl's ILLEGAL_CHARACTERS_RE, copied so
# that a CSV export does not import openpyxl.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Full-width forms too: some spreadsheet input methods turn them into the ASCII signs.
FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
HIDING_START = frozenset("\t\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

HEADERS = (
    _l("Name"), _l("E-mail"), _l("Phone"), _l("Role"), _l("HPR number"), _l("Employer"),
    _l("Status"), _l("Waiting list position"), _l("Needs"), _l("Enrolled at (Oslo time)"),
)
WIDTHS = (28, 32, 16, 22, 12, 28, 18, 10, 40, 18)


def neutralise(value: str) -> str:
    """``value`` with a ``'`` in front if a spreadsheet could take it for a formula."""
    if value and (value[0] in HIDING_START or value.lstrip()[:1] in FORMULA_START):
        return "'" + value
    return value


def _text(value: object) -> str:
    """A text cell: no characters XLSX cannot hold, and never a formula."""
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value or "")))


def header() -> list[str]:
    """The column headers in the active language."""
    return [_text(label) for label in HEADERS]


def rows(roster: Roster) -> list[list[object]]:
    """The lines of the list, typed cells in column order: confirmed, pending, the waiting list
    in order, then the cancelled and rejected. Texts are neutralised; the waiting-list place
    is a number or None; the enrollment time a naive Europe/Oslo wall-clock time."""
    result = []
    for enrollment, position in roster.rows():
        person = enrollment.participant
        texts = (person.full_name, person.email, person.phone, enrollment.role.title,
                 person.hpr_number, person.employer, enrollment.status_title)
        enrolled_at = to_local(enrollment.arrived_at).replace(tzinfo=None, second=0,
                                                              microsecond=0)
        result.append([*map(_text, texts), position, _text(enrollment.needs), enrolled_at])
    return result


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def to_csv(roster: Roster) -> bytes:
    """The list as CSV (see the module docstring for the dialect)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(header())
    for row in rows(roster):
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(roster: Roster, sheet_title: str = "") -> bytes:
    """The list as an Excel workbook with one sheet, the header row frozen."""
    # openpyxl (about 8 MB) is imported by the first export, not by every web worker at start.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title or _("Participants"))
    sheet.append(header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows(roster):
        sheet.append(row)
        sheet.cell(row=sheet.max_row, column=len(HEADERS)).number_format = DATETIME_FORMAT
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "Kursportal"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in ILLEGAL_CHARACTERS_RE.sub("",
                                                                                          title))
    return cleaned.strip().strip("'")[:31] or "Sheet1"


# --- any other staff table, in the same dialect (cohort rosters' completion) ---------------------


def text_cell(value: object) -> str:
    """A text cell of any export: no characters XLSX cannot hold, and never a formula."""
    return _text(value)


def table_to_csv(header: list[str], lines: list[list[object]]) -> bytes:
    """A table as CSV in the participant list's dialect (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow([_csv_cell(value) for value in line])
    return buffer.getvalue().encode("utf-8-sig")


def table_to_xlsx(header: list[str], lines: list[list[object]], sheet_title: str,
                  widths: tuple[int, ...] = ()) -> bytes:
    """A table as an Excel workbook with one sheet, the header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(line)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "Kursportal"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
