"""Payment exports of approved claims: CSV and XLSX for the finance system, and optionally an
ISO 20022 credit-transfer file (pain.001.001.03) for the bank.

The CSV and XLSX follow ``core.exports``: a participant named ``=HYPERLINK(...)`` stays text
(a text cell in XLSX, a leading apostrophe in CSV); amounts are numbers in XLSX, ``1653,60`` in
CSV (Norwegian Excel's decimal comma) and ``1653.60`` in the XML, as ISO 20022 wants.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager

from core import exports as files
from core.i18n import to_local
from enrollment.models import CourseOffering, Enrollment
from refunds.models import Claim, ClaimStatus

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
        return files.kroner(self.amount_ore)


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
    """Text for a CSV cell that a spreadsheet will not run as a formula (``core.exports``)."""
    return files.neutralise(str(text))


def _headers(headers: Sequence[str] | None) -> list[str]:
    return [str(h) for h in (headers or HEADERS)]


def _cells(row: ExportRow) -> list[object]:
    """One claim's cells, typed: the amount a Decimal (a number in both files)."""
    return [row.name, row.bank_account, row.amount, row.reference, row.offering, row.county,
            row.own_car_text]


def to_csv(rows: Sequence[ExportRow], *, headers: Sequence[str] | None = None) -> bytes:
    """The rows as CSV in ``core.exports``' dialect (``;``, decimal comma, UTF-8 with BOM),
    one claim a line."""
    return files.to_csv(_headers(headers), [_cells(row) for row in rows])


def to_xlsx(rows: Sequence[ExportRow], *, headers: Sequence[str] | None = None,
            total_label: str | None = None) -> bytes:
    """The rows as an XLSX workbook, amounts as numbers and a total line at the end."""
    total = [str(total_label or _l("Total")), None, files.kroner(total_ore(rows))]
    return files.to_xlsx(
        _headers(headers), [*(_cells(row) for row in rows), total], title="Claims",
        widths=(30, 16, 14, 18, 40, 20, 12),
        number_formats={2: "@"},  # an account number is text: its leading zeros stay
    )


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
    # Oslo time with its offset (+01:00 or +02:00): without one the bank guesses the zone.
    _sub(header, "CreDtTm", to_local(created).replace(microsecond=0).isoformat())
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

