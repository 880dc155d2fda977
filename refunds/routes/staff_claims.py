"""Staff pages for travel claims: the queue, a claim with its receipts, the decisions (approve,
with adjustments; reject; return for changes) and marking claims paid. The payment exports are
in ``routes.staff_exports``.

Every object is loaded through ``county_scope``/``scoped_or_404`` on the offering's county, so
county staff reach only their own county's claims (others answer 404). The domain work is in
``refunds.services.decisions``; each status change is published (``refunds.events``), and the
mail to the participant and the audit event follow it as subscribers. The request's edge
commits.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload

from core.auth import county_scope, scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.i18n import format_short_day, to_local
from core.routes import Routes
from enrollment.models import CourseOffering, CourseSession, Enrollment
from enrollment.services.cohorts import cohort_code, cohort_short, parse_cohort
from refunds.errors import RefundError
from refunds.forms.decisions import (
    ApproveForm,
    PaidForm,
    QueueFilterForm,
    RejectForm,
    ReturnForm,
)
from refunds.forms.fields import parse_kroner
from refunds.journey import journey_window, unattended_line_counts
from refunds.models import AWAITING_DECISION, Claim, ClaimStatus, Receipt
from refunds.queries import (
    QUEUE_PAGE_SIZE,
    QUEUE_STATUS_FILTERS,
    STAFF_VISIBLE,
    QueuePage,
    claim_select,
    duplicate_warnings,
    queue_count_select,
    queue_ids_select,
    queue_page_select,
    receipt_select,
)
from refunds.routes.receipts import receipt_response
from refunds.services import decisions
from refunds.services.decisions import Adjustment
from refunds.services.rates import unconfirmed_rate_ids
from refunds.services.status import TRANSITIONS

routes = Routes()

S = ClaimStatus
# Status filter value -> the statuses it shows; "" is the default: waiting for a decision.
STATUS_FILTERS = {"": AWAITING_DECISION, **QUEUE_STATUS_FILTERS}


def _actor():
    return current_user._get_current_object()


def today() -> date:
    """Today in Oslo."""
    return to_local(utcnow()).date()


# --- the queue ---------------------------------------------------------------------------------


def claimed_offerings(session) -> list[tuple[CourseOffering, datetime | None]]:
    """The offerings of the user's counties that have claims sent in (for the filters), each
    with its first day."""
    claimed = sa.select(Claim.offering_id).where(STAFF_VISIBLE)
    first_day = (sa.select(sa.func.min(CourseSession.starts_at))
                 .where(CourseSession.offering_id == CourseOffering.id).scalar_subquery())
    return list(session.execute(
        sa.select(CourseOffering, first_day)
        .where(CourseOffering.id.in_(claimed), county_scope(CourseOffering.county_id))
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind))
        .order_by(CourseOffering.cohort.desc(), CourseOffering.id)
    ).all())


def filter_form(offerings: list[tuple[CourseOffering, datetime | None]]) -> QueueFilterForm:
    """The queue's filters, read from the query string, with the choices ``offerings`` give."""
    form = QueueFilterForm(request.args)
    form.status.choices = [("", _("Waiting for a decision"))] + [
        (s.value, s.title) for s in S if s != S.DRAFT] + [("all", _("All"))]
    form.offering.choices = [("", _("All courses"))] + [
        (str(o.id), f"{o.title()} ({format_short_day(first)})" if first else o.title())
        for o, first in offerings]
    cohorts = sorted({o.cohort for o, _first in offerings if o.cohort}, reverse=True)
    form.cohort.choices = [("", _("All cohorts"))] + [
        (cohort_code(c), cohort_short(c)) for c in cohorts]
    return form


def queue_filters(form: QueueFilterForm) -> dict:
    """The queue's filters as ``queue_select``/``approved_claims_select`` take them."""
    return dict(offering_id=int(form.offering.data) if form.offering.data else None,
                cohort=parse_cohort(form.cohort.data) if form.cohort.data else None)


def _page_number() -> int | None:
    """The queue page asked for (1 when none), None when it is not a positive number."""
    value = request.args.get("page", "1")
    return int(value) if value.isdecimal() and 0 < int(value) < 100_000 else None


def _queue_page(paid_form: PaidForm | None = None, status: int = 200):
    session = get_session()
    offerings = claimed_offerings(session)
    form = filter_form(offerings)
    number = _page_number()
    if not form.validate() or number is None:
        return render_template("refunds/staff/queue.html", form=form, page=None, claims=[],
                               warnings={}, paid_form=paid_form or PaidForm(formdata=None)), 400
    chosen = dict(statuses=STATUS_FILTERS[form.status.data or ""], **queue_filters(form))
    scope = county_scope(CourseOffering.county_id)
    size = current_app.config.get("REFUNDS_QUEUE_PAGE_SIZE", QUEUE_PAGE_SIZE)
    total = session.scalar(queue_count_select(**chosen).where(scope)) or 0
    claims = session.execute(queue_page_select(
        queue_ids_select(**chosen).where(scope).limit(size).offset((number - 1) * size)
    )).all()
    page = QueuePage(claims, number, size, total)
    if number > page.pages:
        abort(404)
    if paid_form is None:
        paid_form = PaidForm(formdata=None, payment_date=today().isoformat())
    return render_template(
        "refunds/staff/queue.html", form=form, page=page, claims=claims, paid_form=paid_form,
        warnings=duplicate_warnings(session, [c.id for c in claims]),
        **_row_labels(claims, offerings),
        unattended=unattended_line_counts(session, claims),
        batch=form.status.data == S.APPROVED.value,
        pain001=bool(current_app.config.get("REFUNDS_DEBTOR_NAME")
                     and current_app.config.get("REFUNDS_DEBTOR_ACCOUNT")),
    ), status


_ID_MARK = 987654321


def _row_labels(claims: list, offerings: list[tuple[CourseOffering, datetime | None]]) -> dict:
    """What the rows repeat, worked out once a page rather than once a row: each course's
    title and county (from ``offerings``, the filter's: every offering with claims sent in),
    each status's title, the claim link with ``{}`` for the id."""
    shown = {c.offering_id for c in claims}
    return dict(
        courses={o.id: (o.title(), o.county.name()) for o, _first in offerings if o.id in shown},
        status_titles={s: str(s.title) for s in S},
        claim_url=url_for("refunds.show_staff_claim", claim_id=_ID_MARK)
        .replace(str(_ID_MARK), "{}"),
    )


@routes.get("/staff/refunds/")
@staff_required
def show_queue():
    """Claims waiting for a decision, oldest first, 50 to a page; filters by status, course
    and cohort."""
    return _queue_page()


@routes.post("/staff/refunds/paid")
@staff_required
def mark_claims_paid():
    """Mark the approved claims ticked in the queue paid, with one payment date."""
    session = get_session()
    form = PaidForm()
    if not form.validate_on_submit():
        return _queue_page(form, 400)
    ids = sorted({int(v) for v in request.form.getlist("claim_ids") if v.isdecimal()})
    found = set(session.scalars(
        sa.select(Claim.id).join(Claim.enrollment).join(Enrollment.offering)
        .where(Claim.id.in_(ids), county_scope(CourseOffering.county_id))
    )) if ids else set()
    if found != set(ids):
        abort(404)
    try:
        with session.begin_nested():
            results = decisions.mark_paid(session, ids, actor=_actor(), payment_date=form.day,
                                         now=utcnow())
    except RefundError as exc:
        flash(exc.message, "error")
        return _queue_page(form, exc.status)
    flash(ngettext("%(num)d claim marked paid.", "%(num)d claims marked paid.", len(results)),
          "success")
    return redirect(url_for("refunds.show_queue", status=S.APPROVED.value))


# --- one claim ---------------------------------------------------------------------------------


def staff_claim_or_404(claim_id: int) -> Claim:
    """The claim, if it is the user's county's and has been sent in (a draft is private)."""
    return scoped_or_404(claim_select(claim_id).where(STAFF_VISIBLE), CourseOffering.county_id)


def _approve_form(claim: Claim) -> ApproveForm:
    return ApproveForm(formdata=None, data={"lines": [
        {"line_id": str(line.id)} for line in claim.lines]})


def _claim_page(claim: Claim, *, approve_form=None, reject_form=None, return_form=None,
                paid_form=None, problems=(), status: int = 200):
    session = get_session()
    if approve_form is None:
        approve_form = _approve_form(claim)
    adjustments = {entry.form.line_id.data: entry.form for entry in approve_form.lines}
    return render_template(
        "refunds/staff/claim.html", claim=claim,
        warnings=duplicate_warnings(session, [claim.id])[claim.id],
        journey=journey_window(session, claim.enrollment, claim.scheme),
        unconfirmed_rates=unconfirmed_rate_ids(session, claim.lines),
        approve_form=approve_form, adjustments=adjustments,
        reject_form=reject_form or RejectForm(formdata=None, prefix="reject"),
        return_form=return_form or ReturnForm(formdata=None, prefix="return"),
        paid_form=paid_form or PaidForm(formdata=None, prefix="paid",
                                        payment_date=today().isoformat()),
        can_decide=S.APPROVED in TRANSITIONS[claim.status],
        can_pay=S.PAID in TRANSITIONS[claim.status],
        problems=list(problems),
    ), status


@routes.get("/staff/refunds/claims/<int:claim_id>")
@staff_required
def show_staff_claim(claim_id: int):
    """A claim with its lines, how each was computed, its receipts and the decisions."""
    return _claim_page(staff_claim_or_404(claim_id))


def _adjustments(form: ApproveForm) -> dict[int, Adjustment]:
    return {int(entry.form.line_id.data): Adjustment(parse_kroner(entry.form.amount.data),
                                                     entry.form.note.data or "")
            for entry in form.lines
            if entry.form.amount.data and (entry.form.line_id.data or "").isdecimal()}


@routes.post("/staff/refunds/claims/<int:claim_id>/approve")
@staff_required
def approve_claim(claim_id: int):
    """Approve in full, or with new amounts (each with a note) for some lines; with legs by
    own car, the caseworker records whether the office approved its use."""
    form = ApproveForm()
    form.requires_own_car = staff_claim_or_404(claim_id).has_own_car_legs
    return _decide(claim_id, form, "approve_form",
                   lambda session, claim, form: decisions.approve_claim(
                       session, claim.id, actor=_actor(), now=utcnow(),
                       adjustments=_adjustments(form), staff_note=form.staff_note.data or "",
                       own_car_approved=form.own_car_answer()),
                   _l("Claim %(ref)s is approved."))


@routes.post("/staff/refunds/claims/<int:claim_id>/reject")
@staff_required
def reject_claim(claim_id: int):
    """Reject a claim, with the reason the participant reads."""
    return _decide(claim_id, RejectForm(prefix="reject"), "reject_form",
                   lambda session, claim, form: decisions.reject_claim(
                       session, claim.id, form.reason.data, actor=_actor(), now=utcnow()),
                   _l("Claim %(ref)s is rejected."))


@routes.post("/staff/refunds/claims/<int:claim_id>/return")
@staff_required
def return_claim(claim_id: int):
    """Send a claim back to the participant for changes."""
    return _decide(claim_id, ReturnForm(prefix="return"), "return_form",
                   lambda session, claim, form: decisions.return_claim(
                       session, claim.id, form.reason.data, actor=_actor(), now=utcnow()),
                   _l("Claim %(ref)s is returned for changes."))


@routes.post("/staff/refunds/claims/<int:claim_id>/paid")
@staff_required
def mark_claim_paid(claim_id: int):
    """Mark one approved claim paid on a date."""
    return _decide(claim_id, PaidForm(prefix="paid"), "paid_form",
                   lambda session, claim, form: decisions.mark_paid(
                       session, [claim.id], actor=_actor(), payment_date=form.day,
                       now=utcnow())[0],
                   _l("Claim %(ref)s is marked paid."))


def _decide(claim_id: int, form, form_name: str, decide, done):
    """A caseworker's decision on one claim: the claim page again with the form's errors
    (400) or the domain's refusal, or ``decide(session, claim, form)``'s result with ``done``."""
    session = get_session()
    claim = staff_claim_or_404(claim_id)
    if not form.validate_on_submit():
        return _claim_page(claim, **{form_name: form}, status=400)
    try:
        with session.begin_nested():
            decide(session, claim, form)
    except RefundError as exc:
        return _claim_page(staff_claim_or_404(claim_id), **{form_name: form},
                           problems=[exc.message], status=exc.status)
    flash(done % {"ref": claim.reference}, "success")
    return redirect(url_for("refunds.show_staff_claim", claim_id=claim.id))


@routes.get("/staff/refunds/receipts/<int:receipt_id>")
@staff_required
def show_staff_receipt(receipt_id: int):
    """A receipt of a claim the user may open (``staff_claim_or_404``'s rule: the county's,
    sent in): inline for images shown on the claim page (``?inline=1``), else as a download."""
    receipt: Receipt = scoped_or_404(receipt_select(receipt_id).where(STAFF_VISIBLE),
                                     CourseOffering.county_id)
    return receipt_response(receipt, inline=request.args.get("inline") == "1")
