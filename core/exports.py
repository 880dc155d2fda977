"""The one set of conventions for every table staff download (CSV and XLSX), so each opens
right in Excel with Norwegian regional settings, by double-click.

CSV: UTF-8 with a byte-order mark (Excel then reads æøå), ``;`` between fields (the list
separator where ``,`` is the decimal sign), CRLF line ends, fields quoted when needed, amounts
with a decimal comma and no grouping (``2338,10``: Excel reads it as a number), times as
``YYYY-MM-DD HH:MM`` in Oslo. Served as ``text/csv; charset=utf-8``, the charset named once.

Formulas: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (also after
leading spaces; a leading tab or carriage return can hide such a start) as a formula. In XLSX a
cell has a type: such a text is stored as a text cell (``t="inlineStr"``, with the style's
"quote prefix" so Excel keeps it text when it is edited), and the person's name is exactly what
they wrote. CSV has no types, so there such a text gets a leading ``'`` (OWASP / ASVS 1.2.10):
visible, but never run (docs/security.md, "Exports").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

CSV_DELIMITER = ";"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The control characters an XLSX cell cannot hold: openpyxl's ILLEGAL_CHARACTERS_RE, copied so
# that a CSV export does not import openpyxl.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# Full-width forms too: some spreadsheet input methods turn them into the ASCII signs.
FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
HIDING_START = frozenset("\t\r\n")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
AMOUNT_FORMAT = "0.00"


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    return bool(text) and (text[0] in HIDING_START or text.lstrip()[:1] in FORMULA_START)


def neutralise(text: str) -> str:
    """``text`` for a CSV cell: with a ``'`` in front if it could be taken for a formula."""
    return "'" + text if formula_like(text) else text


def clean(value: object) -> str:
    """Text without the control characters an XLSX cell cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value if value is not None else ""))


def kroner(ore: int) -> Decimal:
    """An amount held in øre as kroner with two decimals (written as a number by both)."""
    return (Decimal(ore) / 100).quantize(Decimal("0.01"))


def decimal_comma(amount: Decimal) -> str:
    """An amount as Norwegian Excel reads a number from CSV: ``2338,10``, ``-53,05``."""
    return f"{amount:.2f}".replace(".", ",")


def csv_cell(value: object) -> str:
    """One CSV field: numbers with a decimal comma, times to the minute, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("write a yes or no as words in the reader's language")
    if isinstance(value, Decimal | float):
        return decimal_comma(Decimal(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(clean(value))


def to_csv(headers: Sequence[object], rows: Iterable[Sequence[object]]) -> bytes:
    """The table as CSV bytes in the module's dialect: typed cells in, text out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([csv_cell(str(h)) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in clean(title))
    return cleaned.strip().strip("'")[:31] or "Sheet1"


def to_xlsx(
    headers: Sequence[object], rows: Iterable[Sequence[object]], *, title: str,
    widths: Sequence[int] = (), number_formats: dict[int, str] | None = None,
) -> bytes:
    """The table as an Excel workbook of one sheet: the header row bold and frozen, text cells
    as text (never a formula), Decimals as numbers (``AMOUNT_FORMAT``), datetimes as naive
    Oslo times (``DATETIME_FORMAT``); ``number_formats`` by 1-based column overrides."""
    # openpyxl (about 8 MB) is imported by the first export, not by every web worker at start.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(title)
    bold = Font(bold=True)
    formats = number_formats or {}
    for column, label in enumerate(headers, start=1):
        _put(sheet.cell(row=1, column=column), str(label)).font = bold
    for row_number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            cell = _put(sheet.cell(row=row_number, column=column), value)
            if column in formats:
                cell.number_format = formats[column]
            elif isinstance(value, Decimal):
                cell.number_format = AMOUNT_FORMAT
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "Kursportal"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _put(cell, value: object):
    """Write ``value`` to ``cell``; a text is always a text cell, exactly as written."""
    if isinstance(value, str):
        text = clean(value)
        cell.value = text
        if formula_like(text):
            cell.data_type = "s"  # openpyxl took a leading "=" for a formula
            cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    else:
        cell.value = value
    return cell


def download(body: bytes, content_type: str, filename: str) -> Response:
    """A download of ``body`` with exactly one Content-Type (as given) and its file name."""
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
