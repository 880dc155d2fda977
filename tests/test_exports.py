"""The conventions every staff download shares (``core.exports``): CSV that Norwegian Excel
opens right by double-click, XLSX whose text cells stay the text a person wrote."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from core.exports import CSV_CONTENT_TYPE, download, to_csv, to_xlsx

HEADERS = ["Namn", "Beløp (kr)", "Dato", "Merknad"]
ROWS = [
    ["=SUM(A1)", Decimal("1234.50"), date(2026, 3, 3), "+47 400 00 000"],
    ["-Åse", Decimal("-53.05"), datetime(2026, 3, 3, 9, 30), "@Ola"],
    ["Kari Nordmann", Decimal("0.10"), None, "a=b"],
]


def test_csv_is_semicolons_decimal_commas_and_a_bom_with_formulas_behind_an_apostrophe():
    body = to_csv(HEADERS, ROWS)

    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        HEADERS,
        ["'=SUM(A1)", "1234,50", "2026-03-03", "'+47 400 00 000"],
        # A negative amount is a number, not a formula: no apostrophe in front of it.
        ["'-Åse", "-53,05", "2026-03-03 09:30", "'@Ola"],
        ["Kari Nordmann", "0,10", "", "a=b"],
    ]


def test_xlsx_keeps_formula_like_names_as_text_cells_without_an_apostrophe():
    sheet = load_workbook(io.BytesIO(to_xlsx(HEADERS, ROWS, title="Krav [mars]"))).active

    assert sheet.title == "Krav  mars"
    assert [c.value for c in sheet[1]] == HEADERS
    for coordinate, text in (("A2", "=SUM(A1)"), ("A3", "-Åse"), ("D2", "+47 400 00 000"),
                             ("D3", "@Ola")):
        cell = sheet[coordinate]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    assert (sheet["A4"].value, sheet["A4"].quotePrefix) == ("Kari Nordmann", False)
    assert (sheet["B2"].value, sheet["B2"].data_type) == (1234.5, "n")
    assert sheet["B2"].number_format == "0.00"
    assert sheet["C3"].value == datetime(2026, 3, 3, 9, 30)
    assert sheet.freeze_panes == "A2"


def test_a_download_names_its_charset_once():
    response = download(b"x", CSV_CONTENT_TYPE, "deltakarar.csv")

    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
    assert response.headers["Content-Disposition"] == 'attachment; filename="deltakarar.csv"'
