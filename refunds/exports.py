"""Payment exports of approved claims: CSV and XLSX for the finance system, and optionally an
ISO 20022 credit-transfer file (pain.001.001.03) for the bank.

Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a line break) get a leading apostrophe, so a participant named ``=HYPERLINK(...)``
stays text. Amounts are written as numbers (XLSX) or as ``1653.60`` (CSV and XML).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager

from core.i18n import to_local
from enrollment.models import CourseOffering, Enrollment
from refunds.models import Claim, ClaimStatus

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PAIN_001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
HEADERS = (
    _l("Name"), _l("Bank account"), _l("Amount (NOK)"), _l("Claim reference"), _l("Course"),
    _l("County"), _l("Use of own car approved"),
)


@dataclass(frozen=True)
class ExportRow:
    """One approved claim as the finance system needs it."""

    claim_id: int
    reference: str
    name: str
    bank_account: str
    amount_ore: int
    offering: str
    county: str
    # The office's recorded yes or no to the use of own car; None when the claim has no such leg.
    own_car_approved: bool | None = None

    @property
    def own_car_text(self) -> str:
        """The recorded answer in the active language, empty when there is none."""
        if self.own_car_approved is None:
            return ""
        return str(_l("Yes") if self.own_car_approved else _l("No"))

    @property
    def amount(self) -> Decimal:
        """The amount in kroner, two decimals."""
        return (Decimal(self.amount_ore) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Debtor:
    """The paying office, from configuration: name, account (IBAN, or 11-digit BBAN), BIC."""

    name: str
    account: str
    bic: str | None = None


def approved_claims_select(
    *, offering_id: int | None = None, cohort: date | None = None,
    statuses: Sequence[ClaimStatus] = (ClaimStatus.APPROVED,),
) -> sa.Select:
    """Claims to export, by reference; the view adds ``county_scope(CourseOffering.county_id)``."""
    stmt = (
        sa.select(Claim)
        .join(Claim.enrollment)
        .join(Enrollment.offering)
        .where(Claim.status.in_(list(statuses)))
        .options(
            contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
            .joinedload(CourseOffering.county),
            contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
            .joinedload(CourseOffering.kind),
            contains_eager(Claim.enrollment).joinedload(Enrollment.participant),
        )
        .order_by(Claim.reference)
    )
    if offering_id is not None:
        stmt = stmt.where(Enrollment.offering_id == offering_id)
    if cohort is not None:
        stmt = stmt.where(CourseOffering.cohort == cohort)
    return stmt


def export_rows(claims: Iterable[Claim], locale: str) -> list[ExportRow]:
    """The rows for ``claims`` (loaded by ``approved_claims_select``), names in ``locale``."""
    return [
        ExportRow(
            claim_id=c.id, reference=c.reference or "", name=c.enrollment.participant.full_name,
            bank_account=c.bank_account, amount_ore=c.payable_ore,
            offering=c.enrollment.offering.title(locale),
            county=c.enrollment.offering.county.name(locale),
            own_car_approved=c.own_car_approved,
        )
        for c in claims
    ]


def total_ore(rows: Iterable[ExportRow]) -> int:
    """The sum of the rows."""
    return sum(row.amount_ore for row in rows)


def neutralise(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = str(text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _headers(headers: Sequence[str] | None) -> list[str]:
    return [neutralise(str(h)) for h in (headers or HEADERS)]


def to_csv(rows: Sequence[ExportRow], *, headers: Sequence[str] | None = None,
           delimiter: str = ",") -> bytes:
    """The rows as UTF-8 CSV (with a BOM, so spreadsheets read æøå), one claim a line."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(_headers(headers))
    for row in rows:
        writer.writerow([
            neutralise(row.name), row.bank_account, f"{row.amount:.2f}", neutralise(row.reference),
            neutralise(row.offering), neutralise(row.county), row.own_car_text,
        ])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Sequence[ExportRow], *, headers: Sequence[str] | None = None,
            total_label: str | None = None) -> bytes:
    """The rows as an XLSX workbook, amounts as numbers and a total line at the end."""
    # openpyxl (about 8 MB) is imported by the first export, not by every web worker at start.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Claims"
    sheet.append(_headers(headers))
    for row in rows:
        sheet.append([
            neutralise(row.name), row.bank_account, row.amount, neutralise(row.reference),
            neutralise(row.offering), neutralise(row.county), row.own_car_text,
        ])
        sheet.cell(sheet.max_row, 2).number_format = "@"
        sheet.cell(sheet.max_row, 3).number_format = "0.00"
    sheet.append([neutralise(str(total_label or _l("Total"))), None,
                  (Decimal(total_ore(rows)) / 100).quantize(Decimal("0.01"))])
    sheet.cell(sheet.max_row, 3).number_format = "0.00"
    for column, width in zip("ABCDEFG", (30, 16, 14, 18, 40, 20, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _account(parent: ET.Element, tag: str, account: str) -> None:
    """An account: an IBAN as ``IBAN``, a Norwegian BBAN as ``Othr/Id`` with scheme BBAN."""
    element = _sub(parent, tag)
    identification = _sub(element, "Id")
    compact = account.replace(" ", "").replace(".", "")
    if compact[:2].isalpha():
        _sub(identification, "IBAN", compact.upper())
    else:
        other = _sub(identification, "Othr")
        _sub(other, "Id", compact)
        _sub(_sub(other, "SchmeNm"), "Cd", "BBAN")
    _sub(element, "Ccy", "NOK")


def to_pain001(
    rows: Sequence[ExportRow], debtor: Debtor, *, message_id: str, execution_date: date,
    created: datetime,
) -> bytes:
    """The rows as one ISO 20022 pain.001.001.03 credit-transfer batch in NOK."""
    if not rows:
        raise ValueError("nothing to pay")
    count, control_sum = str(len(rows)), f"{Decimal(total_ore(rows)) / 100:.2f}"
    document = ET.Element("Document", {"xmlns": PAIN_001})
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id[:35])
    _sub(header, "CreDtTm", to_local(created).replace(tzinfo=None, microsecond=0).isoformat())
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", control_sum)
    _sub(_sub(header, "InitgPty"), "Nm", debtor.name[:140])

    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", message_id[:35])
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "NbOfTxs", count)
    _sub(payment, "CtrlSum", control_sum)
    _sub(payment, "ReqdExctnDt", execution_date.isoformat())
    _sub(_sub(payment, "Dbtr"), "Nm", debtor.name[:140])
    _account(payment, "DbtrAcct", debtor.account)
    institution = _sub(_sub(payment, "DbtrAgt"), "FinInstnId")
    if debtor.bic:
        _sub(institution, "BIC", debtor.bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")
    for row in rows:
        transfer = _sub(payment, "CdtTrfTxInf")
        _sub(_sub(transfer, "PmtId"), "EndToEndId", row.reference[:35])
        _sub(_sub(transfer, "Amt"), "InstdAmt", f"{row.amount:.2f}", Ccy="NOK")
        _sub(_sub(transfer, "Cdtr"), "Nm", row.name[:70])
        _account(transfer, "CdtrAcct", row.bank_account)
        _sub(_sub(transfer, "RmtInf"), "Ustrd", f"{row.reference} {row.offering}"[:140])
    ET.indent(document)
    return ET.tostring(document, encoding="utf-8", xml_declaration=True)

