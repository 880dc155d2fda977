"""Staff exports of approved travel claims for payment: CSV and an Excel workbook for the finance
system, and an ISO 20022 pain.001 credit-transfer file when the paying account is configured.

The rows are the approved claims the queue's filters select, of the user's counties only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import Response, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.auth import county_scope, staff_required
from core.db import get_session, utcnow
from core.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, download
from core.i18n import current_locale
from core.routes import Routes
from enrollment.models import CourseOffering
from refunds import exports
from refunds.models import ClaimStatus
from refunds.routes.staff_claims import claimed_offerings, filter_form, queue_filters, today

routes = Routes()

S = ClaimStatus

_TOTAL = _l("Total")


def export_rows(*, offering_id: int | None = None, cohort: date | None = None,
                statuses: Sequence[ClaimStatus] = (S.APPROVED,)) -> list[exports.ExportRow]:
    """The claims to pay (approved, unless ``statuses`` says otherwise) of the user's counties
    that the filters select, as export rows in the active language: what the CSV page and the
    API's export (``refunds.routes.api``) serve."""
    claims = get_session().scalars(
        exports.approved_claims_select(offering_id=offering_id, cohort=cohort,
                                       statuses=statuses)
        .where(county_scope(CourseOffering.county_id))
    )
    return exports.export_rows(claims, current_locale())


def _export_rows() -> list[exports.ExportRow] | None:
    """The approved claims the filters select, as export rows; None for bad filters."""
    form = filter_form(claimed_offerings(get_session()))
    if not form.validate():
        return None
    return export_rows(**queue_filters(form))


def _download(body: bytes, content_type: str, extension: str) -> Response:
    return download(body, content_type, f"travel-claims-{today().isoformat()}.{extension}")


def csv_download(rows: list[exports.ExportRow]) -> Response:
    """The rows as the CSV file the finance system reads (``refunds.exports.to_csv``)."""
    return _download(exports.to_csv(rows, headers=[str(h) for h in exports.HEADERS]),
                     CSV_CONTENT_TYPE, "csv")


@routes.get("/staff/refunds/export.csv")
@staff_required
def export_claims_csv():
    """Approved claims as CSV for the finance system."""
    rows = _export_rows()
    if rows is None:
        abort(400)
    return csv_download(rows)


@routes.get("/staff/refunds/export.xlsx")
@staff_required
def export_claims_xlsx():
    """Approved claims as an Excel workbook, with a total."""
    rows = _export_rows()
    if rows is None:
        abort(400)
    body = exports.to_xlsx(rows, headers=[str(h) for h in exports.HEADERS],
                           total_label=str(_TOTAL))
    return _download(body, XLSX_CONTENT_TYPE, "xlsx")


@routes.get("/staff/refunds/export.xml")
@staff_required
def export_claims_pain001():
    """Approved claims as an ISO 20022 pain.001 credit-transfer file, when the paying account
    is configured (``REFUNDS_DEBTOR_NAME``, ``REFUNDS_DEBTOR_ACCOUNT``)."""
    config = current_app.config
    if not (config.get("REFUNDS_DEBTOR_NAME") and config.get("REFUNDS_DEBTOR_ACCOUNT")):
        flash(_("The payment file needs the paying account in the configuration."), "error")
        return redirect(url_for("refunds.show_queue", status=S.APPROVED.value))
    rows = _export_rows()
    if rows is None:
        abort(400)
    if not rows:
        flash(_("There are no approved claims to pay."), "error")
        return redirect(url_for("refunds.show_queue", status=S.APPROVED.value))
    debtor = exports.Debtor(config["REFUNDS_DEBTOR_NAME"], config["REFUNDS_DEBTOR_ACCOUNT"],
                            config.get("REFUNDS_DEBTOR_BIC") or None)
    now = utcnow()
    body = exports.to_pain001(rows, debtor, message_id=f"KP-{now:%Y%m%d%H%M%S}",
                              execution_date=today(), created=now)
    return _download(body, "application/xml; charset=utf-8", "xml")
