"""The participant's travel claims, under the manage link: the list, a new claim, the claim form
with its legs and costs (saved, checked, submitted), deleting a draft, and the panel and cancel
notice on enrollment's manage page.

Every route finds the enrollment by its manage token and the claim by its id *and* that
enrollment, so another person's token answers 404. Every page is personal (``no-store``).
Receipts (upload, download, removal) are in ``routes.receipts``.
"""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from core.db import get_session, utcnow
from core.routes import Routes
from core.transaction import keep_when_refused, refusals
from enrollment.models import Enrollment, EnrollmentStatus
from refunds.errors import LinesRefused, RefundError, message
from refunds.forms.claim import ClaimForm, ConfirmForm
from refunds.queries import claims_for_enrollment
from refunds.routes.claim_page import (
    claim_or_404,
    claim_page,
    csrf_failed,
    deadline_months,
    enrollment_or_404,
    receipt_choices,
    show_refusal,
    standing_context,
)
from refunds.services.claims import (
    check_can_submit,
    create_draft,
    delete_draft,
    preview_claim,
    submit_claim,
    update_draft,
)
from refunds.services.status import EDITABLE

routes = Routes()


@routes.get("/manage/<token>/claims/<int:claim_id>")
def show_claim(token: str, claim_id: int):
    """A claim: the form while it is a draft or returned, else what was sent and its status."""
    enrollment = enrollment_or_404(token)
    return claim_page(enrollment, token, claim_or_404(enrollment, claim_id))


@routes.post("/manage/<token>/claims/<int:claim_id>")
def save_claim(token: str, claim_id: int):
    """Add a row, check the amounts, save the draft, or submit the claim."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    form = ClaimForm()
    form.set_receipt_choices(receipt_choices(claim))
    if claim.status not in EDITABLE:
        if csrf_failed(form):
            abort(400)
        return claim_page(enrollment, token, claim, problems=[message("locked")],
                           status=409)
    if csrf_failed(form):
        return claim_page(enrollment, token, claim, form=form, status=400)
    rows = form.added_rows()
    if rows is not None:
        if len(rows) < rows.max_entries:
            rows.append_entry()
        return claim_page(enrollment, token, claim, form=form)
    if not form.validate():
        return claim_page(enrollment, token, claim, form=form, status=400)
    rows = form.line_rows()
    inputs = [row.to_input() for row in rows]
    if form.check.data:
        try:
            preview = preview_claim(session, claim, inputs)
        except LinesRefused as exc:
            problems = show_refusal(form, rows, exc)
            return claim_page(enrollment, token, claim, form=form, problems=problems,
                               status=400)
        return claim_page(enrollment, token, claim, form=form, preview=preview)
    return _store(session, enrollment, token, claim, form, rows, inputs)


def _store(session, enrollment, token, claim, form, rows, inputs):
    """Save the draft, and submit it when asked; a refused submission keeps the draft (the
    request's edge commits it although the answer is 4xx)."""
    now = utcnow()
    try:
        with session.begin_nested():
            if form.send.data:  # refused before anything is saved when it cannot be sent
                check_can_submit(session, claim, now=now, deadline_months=deadline_months())
            update_draft(session, claim.id, lines=inputs,
                         bank_account=form.bank_account.data or "",
                         comment=form.comment.data or "", now=now)
    except RefundError as exc:
        return _refused(enrollment, token, claim, form, rows, exc)
    if not form.send.data:
        flash(_("Your draft is saved."), "success")
        return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))
    try:
        with session.begin_nested():
            submit_claim(session, claim.id, now=now, deadline_months=deadline_months())
    except RefundError as exc:
        keep_when_refused()  # the draft as typed is kept; only the submission is refused
        return _refused(enrollment, token, claim, form, rows, exc)
    flash(_("Your claim %(ref)s is submitted. We have sent you a confirmation by e-mail.",
            ref=claim.reference), "success")
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))


def _refused(enrollment, token, claim, form, rows, exc: RefundError):
    """The claim form again, with the refusal next to the fields it concerns."""
    problems = show_refusal(form, rows, exc)
    return claim_page(enrollment, token, claim, form=form, problems=problems,
                       status=exc.status)


# --- the list, a new claim, deleting a draft ----------------------------------------------------


@routes.get("/manage/<token>/claims")
def list_claims(token: str):
    """The enrollment's claims, and the way to start one (or why one cannot be started)."""
    enrollment = enrollment_or_404(token)
    claims = claims_for_enrollment(get_session(), enrollment.id)
    now = utcnow()
    return render_template(
        "refunds/claims.html", enrollment=enrollment, token=token, claims=claims,
        **standing_context(enrollment, now),
    )


@routes.route("/manage/<token>/claims/new", methods=["GET", "POST"])
def new_claim(token: str):
    """Start a claim (or reopen the open draft); explains what one needs first."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    form = ConfirmForm()
    now = utcnow()
    context = dict(enrollment=enrollment, token=token, form=form,
                   **standing_context(enrollment, now))
    if request.method == "GET":
        return render_template("refunds/new_claim.html", **context)
    if not form.validate_on_submit():
        return render_template("refunds/new_claim.html", **context), 400
    if not context["standing"].may_start:
        return render_template("refunds/new_claim.html", **context), 403
    try:
        with session.begin_nested():
            claim = create_draft(session, enrollment, now=now,
                                 deadline_months=deadline_months())
    except RefundError as exc:
        context["problem"] = exc.code
        return render_template("refunds/new_claim.html", **context), exc.status
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))


@routes.post("/manage/<token>/claims/<int:claim_id>/delete")
def delete_claim(token: str, claim_id: int):
    """Delete a draft that was never submitted."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # a refusal is flashed
        delete_draft(session, claim.id)
    if refusal:
        return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("refunds.list_claims", token=token))


# --- the panel on the manage page ----------------------------------------------------------------


def claim_panel(enrollment: Enrollment, token: str) -> Markup | None:
    """The manage page's "Travel refund claim" section: the claims and how to start one, or
    why this enrollment gives no refund."""
    claims = claims_for_enrollment(get_session(), enrollment.id)
    closed = enrollment.status in (EnrollmentStatus.CANCELLED, EnrollmentStatus.REJECTED)
    if closed and not claims:
        return None
    now = utcnow()
    return Markup(render_template(  # noqa: S704 (rendered by an autoescaping template)
        "refunds/_panel.html", enrollment=enrollment, token=token, claims=claims,
        **standing_context(enrollment, now),
    ))


def unsent_claim_notice(enrollment: Enrollment) -> str | None:
    """What the page that asks to confirm a cancellation says about a travel claim not yet
    sent (a draft, or one returned for changes): it can no longer be sent afterwards, as only
    a confirmed enrollment gives a refund."""
    unsent = [c for c in claims_for_enrollment(get_session(), enrollment.id)
              if c.status in EDITABLE]
    if not unsent:
        return None
    return _("You have a travel claim that is not sent. After you cancel, it can no longer "
             "be sent.")
