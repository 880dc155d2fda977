"""Reading an office's roster file: CSV (``;`` or ``,``, UTF-8 with or without a byte-order
mark, or the Windows-1252 that older Excel writes) or an Excel workbook (XLSX, first sheet).

Only reading: each line becomes a dict of the known columns as text (an Excel date cell as an
ISO date), with its line number; checking the values is ``enrollment.services.rosters``. The
size and the number of lines are limited before anything is parsed further.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime

from enrollment.errors import RosterFileRejected

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
XLSX_MAGIC = b"PK\x03\x04"

# The columns a file must have, by the headers offices write in nn, nb or en (folded:
# lower case, no spaces, hyphens or underscores).
COLUMNS = {
    "full_name": {"name", "fullname", "navn", "namn", "fulltnavn", "fulltnamn"},
    "email": {"email", "e-mail", "epost", "e-post", "emailaddress", "epostadresse"},
    "hpr_number": {"hpr", "hprnumber", "hprnummer", "hprnr"},
    "role": {"role", "rolle"},
    "municipality": {"municipality", "kommune", "kommunenummer", "municipalitynumber"},
    "start_date": {"startdate", "start", "startdato", "oppstart", "oppstartsdato",
                   "oppstartikommunen"},
}
REQUIRED = ("full_name", "email", "municipality", "start_date")


def _fold(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header or "")).casefold()
    return re.sub(r"[\s_\-.]+", "", text)


_BY_HEADER = {_fold(alias): column for column, aliases in COLUMNS.items() for alias in aliases}


def read(data: bytes, filename: str = "") -> list[dict]:
    """The lines of a roster file as ``{"line": n, column: text, ...}``; raises
    ``RosterFileRejected`` for a file too large, unreadable, without the needed columns, empty,
    or with more than ``MAX_ROWS`` lines."""
    if len(data) > MAX_BYTES:
        raise RosterFileRejected(code="roster_file_too_large", limit=MAX_BYTES // (1024 * 1024))
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        table = _xlsx_table(data)
    else:
        table = _csv_table(data)
    return _records(table)


def _csv_table(data: bytes) -> list[list[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise RosterFileRejected(code="roster_file_unreadable")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_table(data: bytes) -> list[list[object]]:
    # openpyxl (about 8 MB) is imported by the first upload, not by every web worker at start.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        table = []
        for row in sheet.iter_rows(values_only=True):
            table.append(list(row))
            if len(table) > MAX_ROWS + 1:
                break
        workbook.close()
    except Exception as exc:  # noqa: BLE001  a broken workbook raises many kinds of errors
        raise RosterFileRejected(code="roster_file_unreadable") from exc
    return table


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _records(table: list[list[object]]) -> list[dict]:
    filled = [i for i, row in enumerate(table) if any(_cell(v) for v in row)]
    if not filled:
        raise RosterFileRejected(code="roster_file_empty")
    header = [_BY_HEADER.get(_fold(h)) for h in table[filled[0]]]
    if any(c not in header for c in REQUIRED):
        raise RosterFileRejected(code="roster_file_columns")
    if len(filled) - 1 > MAX_ROWS:
        raise RosterFileRejected(code="roster_too_many_rows", limit=MAX_ROWS)
    records = []
    for index in filled[1:]:
        record: dict = {"line": index + 1}
        for column, value in zip(header, table[index], strict=False):
            if column is not None and column not in record:
                record[column] = _cell(value)[:300]
        records.append(record)
    if not records:
        raise RosterFileRejected(code="roster_file_empty")
    return records
