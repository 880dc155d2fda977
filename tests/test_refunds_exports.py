"""Payment exports: CSV and XLSX open with the right rows and totals, formulas neutralised,
and the pain.001 file carries the same amounts."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from core.db import session_scope
from refunds.exports import (
    PAIN_001,
    Debtor,
    ExportRow,
    approved_claims_select,
    export_rows,
    neutralise,
    to_csv,
    to_pain001,
    to_xlsx,
    total_ore,
)
from refunds.models import Claim
from refunds.services.decisions import Adjustment, approve_claim
from tests.refunds_factories import (
    IN_WINDOW,
    car_leg,
    engine_of,
    load_rates,
    make_enrollment,
    staff_user,
    submitted_claim,
)

NS = {"p": PAIN_001}
HOSTILE_NAME = '=HYPERLINK("http://evil.example","Klikk")'


@pytest.mark.parametrize(("text", "safe"), [
    ("=1+1", "'=1+1"), ("+47 400", "'+47 400"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Kari Nordmann", "Kari Nordmann"), ("", ""),
    ("a=b", "a=b"),
])
def test_neutralise(text, safe):
    assert neutralise(text) == safe


ROWS = [
    ExportRow(1, "RR-2026-000001", HOSTILE_NAME, "86011117947", 233_810, "Kurs i offentleg "
              "helsearbeid", "Vestland"),
    ExportRow(2, "RR-2026-000002", "Åse Ødegård", "12345678903", 5_305, "-Akuttmedisin",
              "Vestland", own_car_approved=False),
]


def test_csv_rows_and_neutralised_text():
    """Norwegian Excel's CSV: a BOM, ``;`` between fields, amounts with a decimal comma, and
    a formula-like text behind an apostrophe (CSV has no text type)."""
    body = to_csv(ROWS)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Name", "Bank account", "Amount (NOK)", "Claim reference", "Course",
                       "County", "Use of own car approved"]
    assert rows[1] == ["'" + HOSTILE_NAME, "86011117947", "2338,10", "RR-2026-000001",
                       "Kurs i offentleg helsearbeid", "Vestland", ""]
    assert rows[2] == ["Åse Ødegård", "12345678903", "53,05", "RR-2026-000002",
                       "'-Akuttmedisin", "Vestland", "No"]
    assert len(rows) == 3
    assert sum(int(r[2].replace(",", "")) for r in rows[1:]) == total_ore(ROWS) == 239_115


def test_xlsx_rows_numbers_and_total():
    """Formula-like names are text cells holding exactly the name; amounts are numbers."""
    book = load_workbook(io.BytesIO(to_xlsx(ROWS)))
    sheet = book.active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == HOSTILE_NAME
    assert (sheet["A2"].data_type, sheet["E3"].data_type) == ("s", "s")
    assert values[1][1:4] == ["86011117947", 2338.1, "RR-2026-000001"]
    assert values[2][4] == "-Akuttmedisin"
    assert values[3][:3] == ["Total", None, 2391.15]
    # Nothing in the sheet is a formula.
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_pain001_carries_the_same_amounts():
    xml = to_pain001(ROWS, Debtor("Statsforvaltaren i Vestland", "7694 05 12345"),
                     message_id="KP-2026-01-20-1", execution_date=date(2026, 1, 20),
                     created=datetime(2026, 1, 19, 12, tzinfo=UTC))
    root = ET.fromstring(xml)  # noqa: S314  (our own output, not untrusted input)
    assert root.tag == f"{{{PAIN_001}}}Document"
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "2391.15"
    # Oslo time with its offset: 12:00 UTC in January is 13:00 at +01:00.
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2026-01-19T13:00:00+01:00"
    payment = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert payment.findtext("p:ReqdExctnDt", namespaces=NS) == "2026-01-20"
    assert payment.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == "76940512345"
    transfers = payment.findall("p:CdtTrfTxInf", NS)
    assert [t.findtext("p:Amt/p:InstdAmt", namespaces=NS) for t in transfers] == [
        "2338.10", "53.05"]
    assert transfers[0].find("p:Amt/p:InstdAmt", NS).get("Ccy") == "NOK"
    assert [t.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) for t in transfers] == [
        "86011117947", "12345678903"]
    assert transfers[0].findtext("p:CdtrAcct/p:Id/p:Othr/p:SchmeNm/p:Cd",
                                 namespaces=NS) == "BBAN"
    assert transfers[1].findtext("p:PmtId/p:EndToEndId", namespaces=NS) == "RR-2026-000002"
    assert transfers[1].findtext("p:Cdtr/p:Nm", namespaces=NS) == "Åse Ødegård"


def test_pain001_with_iban_debtor_and_bic():
    xml = to_pain001(ROWS[:1], Debtor("SF", "NO93 8601 1117 947", bic="DNBANOKKXXX"),
                     message_id="m", execution_date=date(2026, 7, 2),
                     created=datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=UTC))
    root = ET.fromstring(xml)  # noqa: S314  (our own output, not untrusted input)
    created = root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", namespaces=NS)
    assert created == "2026-07-01T12:00:00+02:00"  # summer time in Oslo, to the second
    assert datetime.fromisoformat(created) == datetime(2026, 7, 1, 10, tzinfo=UTC)
    payment = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert payment.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "NO9386011117947"
    assert payment.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "DNBANOKKXXX"
    with pytest.raises(ValueError, match="nothing"):
        to_pain001([], Debtor("SF", "86011117947"), message_id="m",
                   execution_date=date(2026, 1, 20), created=datetime(2026, 1, 19, tzinfo=UTC))


def test_export_of_approved_claims_from_the_database(app, make_offering, make_staff):
    load_rates(app)
    caseworker = staff_user(app, make_staff("sakshandsamar@sfvl.no"))
    first = submitted_claim(app, make_enrollment(app, make_offering, name=HOSTILE_NAME))
    second = submitted_claim(app, make_enrollment(app, make_offering, email="b@example.no",
                                                  name="Åse Ødegård"),
                             lines=[car_leg(km="12.5")])  # 12.5 × 530 = 6 625
    waiting = submitted_claim(app, make_enrollment(app, make_offering, email="c@example.no"))
    with app.app_context(), session_scope(engine_of(app)) as session:
        line_id = session.get(Claim, first).lines[0].id
        approve_claim(session, first, actor=caseworker, now=IN_WINDOW,
                               adjustments={line_id: Adjustment(50_000, "Kortare veg")})
        approve_claim(session, second, actor=caseworker, now=IN_WINDOW)
    with session_scope(engine_of(app)) as session:
        claims = list(session.scalars(approved_claims_select()).unique())
        rows = export_rows(claims, "nn")
    assert [r.claim_id for r in rows] == [first, second]
    assert waiting not in [r.claim_id for r in rows]
    assert [r.amount_ore for r in rows] == [50_000, 6_625]
    assert rows[0].offering == "Testkurs"
    assert rows[0].county == "Vestland"
    sheet = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert sheet.cell(2, 1).value == HOSTILE_NAME
    assert sheet.cell(4, 3).value == 566.25
