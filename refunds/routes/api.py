"""The staff API for travel claims: the office's claims by status (as the staff queue filters
them), one claim with its lines, receipts (their metadata, never the file) and decisions,
marking an approved claim paid, and the payment export.

Everything goes through what the staff pages use: the queue's filters and order
(``refunds.queries``), the claim page's loading (``routes.staff_claims.staff_claim_or_404``:
another office's claim, or a draft, is 404), the service that marks claims paid
(``services.decisions.mark_paid``, which publishes the change; the audit log and the
participant's mail subscribe) and the export's rows and CSV (``routes.staff_exports``).
Money is integer øre throughout (100 øre = 1 krone), as stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from spectree import Response
from sqlalchemy.orm import contains_eager

from core.api.operations import staff
from core.api.problems import Problem, problem
from core.api.spec import link, media, spec
from core.api.web import (
    BadCursor,
    bad_cursor,
    decode_time_cursor,
    encode_cursor,
    private_json,
)
from core.auth import county_scope
from core.db import get_session, utcnow
from core.routes import Routes
from enrollment.models import CourseOffering, Enrollment
from enrollment.services.cohorts import parse_cohort
from refunds.errors import RefundError
from refunds.models import Claim, ClaimStatus
from refunds.queries import QUEUE_STATUS_FILTERS, queue_select
from refunds.routes.api_models import (
    ClaimDetail,
    ClaimExportFilter,
    ClaimFilter,
    ClaimPage,
    ClaimPayment,
    claim_detail,
    claim_out,
)
from refunds.routes.staff_claims import staff_claim_or_404
from refunds.routes.staff_exports import csv_download, export_rows
from refunds.services import decisions

routes = Routes()

TAGS = ["claims"]
TOKEN = {"token": []}


def _after(cursor: str):
    """The claims after ``cursor`` in the queue's order (submitted, then id); ``BadCursor``
    when the cursor was not made here."""
    moment, claim_id = decode_time_cursor(cursor)
    return sa.or_(Claim.submitted_at > moment,
                  sa.and_(Claim.submitted_at == moment, Claim.id > claim_id))


@routes.get("/api/v1/claims")
@staff()
@spec.validate(query=ClaimFilter,
               resp=Response(HTTP_200=ClaimPage, HTTP_400=Problem, HTTP_401=Problem,
                             HTTP_422=Problem),
               tags=TAGS, security=TOKEN, operation_id="listClaims")
def api_list_claims(query: ClaimFilter):
    """The office's claims

    Sent-in claims of the token's office, oldest submission first, filtered as the staff
    queue filters them: by status (by default those waiting for a decision), course and
    cohort. A page holds up to ``limit`` claims; ``next_cursor`` fetches the next."""
    stmt = (queue_select(statuses=QUEUE_STATUS_FILTERS[query.status],
                         offering_id=query.offering_id,
                         cohort=parse_cohort(query.cohort) if query.cohort else None)
            .where(county_scope(CourseOffering.county_id))
            .options(contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
                     .joinedload(CourseOffering.kind))
            .limit(query.limit + 1))
    if query.cursor is not None:
        try:
            stmt = stmt.where(_after(query.cursor))
        except BadCursor:
            return bad_cursor()
    claims = list(get_session().scalars(stmt))
    more = len(claims) > query.limit
    claims = claims[:query.limit]
    last = claims[-1] if more else None
    return private_json(ClaimPage(
        items=[claim_out(c) for c in claims],
        next_cursor=encode_cursor([last.submitted_at.isoformat(), last.id]) if last else None))


@routes.get("/api/v1/claims/<int:claim_id>")
@staff()
@spec.validate(resp=Response(HTTP_200=ClaimDetail, HTTP_401=Problem, HTTP_404=Problem),
               tags=TAGS, security=TOKEN, operation_id="getClaim")
def api_show_claim(claim_id: int):
    """One claim

    With its lines (what each is, the rate it was computed with, the amount claimed and
    approved), its receipts (metadata only: the files stay on the staff page) and the
    decision and payment. A claim of another office, or a draft, is 404."""
    return private_json(claim_detail(staff_claim_or_404(claim_id)))


@routes.post("/api/v1/claims/<int:claim_id>/paid")
@staff(write=True)
@spec.validate(json=ClaimPayment,
               resp=Response(HTTP_200=ClaimDetail, HTTP_401=Problem, HTTP_403=Problem,
                             HTTP_404=Problem, HTTP_409=Problem, HTTP_422=Problem),
               tags=TAGS, security=TOKEN, operation_id="markClaimPaid")
def api_mark_claim_paid(claim_id: int, json: ClaimPayment):
    """Mark a claim paid

    An approved claim is marked paid on the payment date, as on the staff page: audited, and
    the participant is told. A claim that is not approved (or is paid already) is a 409
    problem with the page's message; nothing changes."""
    claim = staff_claim_or_404(claim_id)
    session = get_session()
    try:
        with session.begin_nested():
            decisions.mark_paid(session, [claim.id], actor=current_user._get_current_object(),
                                payment_date=json.payment_date, now=utcnow())
    except RefundError as exc:
        return problem(exc.status, exc.message)
    return private_json(claim_detail(staff_claim_or_404(claim_id)))


@routes.get("/api/v1/claims/export")
@staff()
@spec.validate(query=ClaimExportFilter,
               resp=Response(HTTP_200=(None, "The claims as CSV (text/csv; charset=utf-8)."),
                             HTTP_401=Problem, HTTP_422=Problem),
               tags=TAGS, security=TOKEN, operation_id="exportClaims")
def api_export_claims(query: ClaimExportFilter):
    """The payment export

    The office's approved claims (or its paid ones) as the staff page's CSV file for the
    finance system, byte for byte: UTF-8 with a byte-order mark, ``;`` between fields, CRLF
    line ends, a header line, amounts in kroner with a decimal comma (``1653,60``). Columns:
    name, bank account, amount (NOK), claim reference, course, county, use of own car
    approved; the headings are in the request's language."""
    return csv_download(export_rows(
        offering_id=query.offering_id,
        cohort=parse_cohort(query.cohort) if query.cohort else None,
        statuses=(ClaimStatus(query.status),)))


media("exportClaims", 200, "text/csv", {"type": "string"})
link("listClaims", 200, "getClaim", "getClaim", {"claim_id": "$response.body#/items/0/id"})
link("getClaim", 200, "markClaimPaid", "markClaimPaid", {"claim_id": "$response.body#/id"})
