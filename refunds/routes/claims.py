"""The participant's travel claims, under the manage link: the list, a new claim, the claim form
with its legs, costs and receipts, and the panel on the manage page.

Every route finds the enrollment by its manage token and the claim by its id *and* that
enrollment, so another person's token answers 404. Every page is personal (``no-store``).
Receipts (upload, download, removal) are in ``receipt_views`` and the staff pages of the same
blueprint in ``staff_views``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from core.db import get_session, utcnow
from core.i18n import current_locale, format_short_day, to_local
from core.web import no_store
from enrollment import services as enrollment_services
from enrollment.models import Enrollment, EnrollmentStatus
from refunds import notifications
from refunds.bank import InvalidAccountNumber, format_account
from refunds.calc import CalcError, LinesRefused, explain
from refunds.eligibility import claim_problem, claim_window
from refunds.errors import (
    DOMAIN_ERRORS,
    ClaimIncomplete,
    NotEligible,
    OutsideClaimWindow,
)
from refunds.forms import ClaimForm, ConfirmForm, UploadForm, km_text, kroner_text
from refunds.journey import OutsideJourney, journey_window
from refunds.messages import (
    LINE_MESSAGES,
    claim_message,
    error_status,
    journey_message,
    window_message,
)
from refunds.models import COST_KINDS, Claim, LineKind, TravelMeans
from refunds.queries import claim_select, claims_for_enrollment
from refunds.services import (
    EDITABLE,
    check_can_submit,
    create_draft,
    delete_draft,
    preview_claim,
    submit_claim,
    update_draft,
)

bp = Blueprint("refunds", __name__, template_folder="templates")

bp.add_app_template_global(claim_message, "refund_message")


@bp.after_request
def _claim_pages_are_personal(response):
    return no_store(response)


# --- shared helpers ----------------------------------------------------------------------------


def deadline_months() -> int:
    """How many months after the last session claims are taken (``REFUND_CLAIM_MONTHS``)."""
    return current_app.config["REFUND_CLAIM_MONTHS"]


def describe_line(line, locale: str | None = None) -> str:
    """A line in words: '5. januar 2026: Florø – Bergen (Eigen bil)' or 'Bompengar, 5. …'."""
    source = getattr(line, "source", line)
    day = format_short_day(source.travel_date, locale)
    if line.kind == LineKind.LEG:
        return f"{day}: {source.from_place} – {source.to_place} ({source.means.title})"
    text = f"{line.kind.title}, {day}"
    description = getattr(source, "description", "")
    return f"{text}: {description}" if description else text


@bp.app_template_filter("claim_explain")
def _explain(line) -> str:
    return explain(line, current_locale())


@bp.app_template_global()
def describe_claim_line(line) -> str:
    """Template access to ``describe_line``."""
    return describe_line(line)


@bp.app_template_global()
def masked_account(digits: str) -> str:
    """An account number with only its last four digits shown."""
    return f"•••• •• •{digits[-4:]}" if len(digits) == 11 else ""


@dataclass(frozen=True)
class Window:
    """When a claim may be submitted, and where today is in that window."""

    opens: date
    closes: date
    state: str  # "early", "open" or "closed"


def claim_window_for(enrollment: Enrollment, now: datetime) -> Window | None:
    """The claim window of the enrollment's offering, None when it has no sessions."""
    try:
        opens, closes = claim_window(enrollment.offering, deadline_months())
    except NotEligible:
        return None
    today = to_local(now).date()
    state = "early" if today < opens else "closed" if today > closes else "open"
    return Window(opens, closes, state)


# --- loading -----------------------------------------------------------------------------------


def enrollment_or_404(token: str) -> Enrollment:
    """The enrollment the manage token opens, or 404."""
    enrollment = enrollment_services.find_by_token(get_session(), token)
    if enrollment is None:
        abort(404)
    return enrollment


def claim_or_404(enrollment: Enrollment, claim_id: int) -> Claim:
    """The enrollment's claim with this id (lines, receipts, offering loaded), or 404."""
    claim = get_session().scalar(
        claim_select(claim_id).where(Claim.enrollment_id == enrollment.id)
    )
    if claim is None:
        abort(404)
    return claim


def csrf_failed(form) -> bool:
    """Whether the form's CSRF token is missing or wrong (checked before anything else)."""
    return bool(form.meta.csrf) and not form.csrf_token.validate(form)


# --- the claim page ----------------------------------------------------------------------------


def _form_data(claim: Claim, locale: str) -> dict:
    """The form's values for a stored claim."""
    legs, costs, allowances, nights = [], [], [], []
    for line in claim.lines:
        receipt = str(line.receipt_id) if line.receipt_id else ""
        if line.kind == LineKind.LEG:
            car = line.means == TravelMeans.OWN_CAR
            legs.append(dict(
                travel_date=line.travel_date.isoformat(), from_place=line.from_place,
                to_place=line.to_place, means=line.means.value,
                km=km_text(line.km, locale) if car else "",
                passengers=str(line.passengers) if car else "0",
                amount="" if car else kroner_text(line.amount_paid_ore, locale),
                taxi_reason=line.taxi_reason, best_class=line.best_class, receipt=receipt,
            ))
        elif line.kind in COST_KINDS:
            costs.append(dict(
                kind=line.kind.value, travel_date=line.travel_date.isoformat(),
                amount=kroner_text(line.amount_paid_ore, locale),
                description=line.description, receipt=receipt,
            ))
        elif line.kind == LineKind.MEAL_ALLOWANCE:
            allowances.append(dict(
                travel_date=line.travel_date.isoformat(),
                journey_km=km_text(line.journey_km, locale), hours=km_text(line.hours, locale),
                overnight=line.overnight, breakfast_provided=line.breakfast_provided,
                lunch_provided=line.lunch_provided, dinner_provided=line.dinner_provided,
                description=line.description,
            ))
        elif line.kind == LineKind.NIGHT_SUPPLEMENT:
            nights.append(dict(travel_date=line.travel_date.isoformat(),
                               description=line.description))
    return dict(legs=legs, costs=costs, allowances=allowances, nights=nights,
                comment=claim.comment,
                bank_account=format_account(claim.bank_account) if claim.bank_account else "")


def _receipt_choices(claim: Claim) -> list[tuple[str, str]]:
    return [(str(r.id), f"{i}. {r.original_name or _('Receipt')}")
            for i, r in enumerate(claim.receipts, start=1)]


def line_choices(claim: Claim) -> list[tuple[str, str]]:
    """The claim's saved lines, for choosing which one a receipt documents."""
    return [("", _("Not for a particular line"))] + [
        (str(line.id), f"{line.position + 1}. {describe_line(line)}") for line in claim.lines
    ]


def claim_page(enrollment: Enrollment, token: str, claim: Claim, *, form=None,
                upload_form=None, preview=None, problems=(), status: int = 200):
    """The claim: the form while the participant may change it, else a read-only view."""
    now = utcnow()
    journey = journey_window(get_session(), enrollment, claim.scheme)
    context = dict(enrollment=enrollment, token=token, claim=claim, now=now,
                   window=claim_window_for(enrollment, now), problems=list(problems),
                   problem=claim_problem(enrollment, now, deadline_months()),
                   journey=journey, attendance_missing=not (journey and journey.attended))
    if claim.status not in EDITABLE:
        return render_template("refunds/claim_view.html", **context), status
    if form is None:
        form = ClaimForm(formdata=None, data=_form_data(claim, current_locale()))
    form.set_receipt_choices(_receipt_choices(claim))
    if upload_form is None:
        upload_form = UploadForm(formdata=None)
    upload_form.line.choices = line_choices(claim)
    return render_template(
        "refunds/claim_form.html", form=form, upload_form=upload_form, preview=preview,
        delete_form=ConfirmForm(formdata=None), **context,
    ), status


def add_error(field, message) -> None:
    """Show ``message`` next to ``field``."""
    field.errors = [*field.errors, message]


def _show_refusal(form: ClaimForm, rows: list, exc: Exception) -> list[str]:
    """Put a domain refusal next to the fields it concerns; returns what concerns no field."""
    problems = []
    if isinstance(exc, LinesRefused):
        for error in exc.errors:
            message, name = LINE_MESSAGES.get(error.code, (claim_message(error.code),
                                                           "travel_date"))
            if isinstance(error, OutsideJourney):
                message = journey_message(error.first, error.last)
            row = rows[error.index]
            add_error(row._fields.get(name) or row.travel_date, message)
    elif isinstance(exc, InvalidAccountNumber):
        add_error(form.bank_account, claim_message("bank_account_invalid"))
    elif isinstance(exc, ClaimIncomplete):
        for problem in exc.problems:
            if problem.startswith("bank_account"):
                add_error(form.bank_account, claim_message(problem))
            else:
                problems.append(str(claim_message(problem)))
        for position in exc.lines_missing_receipt:
            if position < len(rows):
                add_error(rows[position].receipt, _("This line needs a receipt."))
    elif isinstance(exc, OutsideClaimWindow):
        problems.append(window_message(exc))
    elif isinstance(exc, CalcError):
        problems.append(str(LINE_MESSAGES.get(exc.code, (claim_message(exc.code),))[0]))
    elif getattr(exc, "code", "") == "comment_too_long":
        add_error(form.comment, claim_message(exc.code))
    else:
        problems.append(str(claim_message(getattr(exc, "code", ""))))
    form.refresh_errors()
    return problems


@bp.get("/manage/<token>/claims/<int:claim_id>")
def show_claim(token: str, claim_id: int):
    """A claim: the form while it is a draft or returned, else what was sent and its status."""
    enrollment = enrollment_or_404(token)
    return claim_page(enrollment, token, claim_or_404(enrollment, claim_id))


@bp.post("/manage/<token>/claims/<int:claim_id>")
def save_claim(token: str, claim_id: int):
    """Add a row, check the amounts, save the draft, or submit the claim."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    form = ClaimForm()
    form.set_receipt_choices(_receipt_choices(claim))
    if claim.status not in EDITABLE:
        if csrf_failed(form):
            abort(400)
        return claim_page(enrollment, token, claim, problems=[claim_message("locked")],
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
            problems = _show_refusal(form, rows, exc)
            return claim_page(enrollment, token, claim, form=form, problems=problems,
                               status=400)
        return claim_page(enrollment, token, claim, form=form, preview=preview)
    return _store(session, enrollment, token, claim, form, rows, inputs)


def _store(session, enrollment, token, claim, form, rows, inputs):
    """Save the draft, and submit it when asked; a refused submission keeps the draft."""
    now = utcnow()
    try:
        if form.send.data:  # refused before anything is saved when it cannot be sent at all
            check_can_submit(session, claim, now=now, deadline_months=deadline_months())
        update_draft(session, claim.id, lines=inputs, bank_account=form.bank_account.data or "",
                     comment=form.comment.data or "", now=now)
    except DOMAIN_ERRORS as exc:
        session.rollback()
        problems = _show_refusal(form, rows, exc)
        return claim_page(enrollment, token, claim, form=form, problems=problems,
                           status=error_status(exc))
    if not form.send.data:
        session.commit()
        flash(_("Your draft is saved."), "success")
        return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))
    try:
        with session.begin_nested():
            result = submit_claim(session, claim.id, now=now, deadline_months=deadline_months())
    except DOMAIN_ERRORS as exc:
        session.commit()  # the draft as typed is kept; only the submission is refused
        problems = _show_refusal(form, rows, exc)
        return claim_page(enrollment, token, claim, form=form, problems=problems,
                           status=error_status(exc))
    notifications.notify_status(session, result.claim)
    session.commit()
    flash(_("Your claim %(ref)s is submitted. We have sent you a confirmation by e-mail.",
            ref=claim.reference), "success")
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))


# --- the list, a new claim, deleting a draft ----------------------------------------------------


@bp.get("/manage/<token>/claims")
def list_claims(token: str):
    """The enrollment's claims, and the way to start one (or why one cannot be started)."""
    enrollment = enrollment_or_404(token)
    claims = claims_for_enrollment(get_session(), enrollment.id)
    now = utcnow()
    return render_template(
        "refunds/claims.html", enrollment=enrollment, token=token, claims=claims,
        problem=claim_problem(enrollment, now, deadline_months()),
        window=claim_window_for(enrollment, now),
    )


@bp.route("/manage/<token>/claims/new", methods=["GET", "POST"])
def new_claim(token: str):
    """Start a claim (or reopen the open draft); explains what one needs first."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    form = ConfirmForm()
    now = utcnow()
    problem = claim_problem(enrollment, now, deadline_months())
    context = dict(enrollment=enrollment, token=token, form=form, problem=problem,
                   window=claim_window_for(enrollment, now))
    if request.method == "GET":
        return render_template("refunds/new_claim.html", **context)
    if not form.validate_on_submit():
        return render_template("refunds/new_claim.html", **context), 400
    if problem is not None:
        return render_template("refunds/new_claim.html", **context), 403
    try:
        claim = create_draft(session, enrollment, now=now, deadline_months=deadline_months())
    except DOMAIN_ERRORS as exc:
        session.rollback()
        context["problem"] = exc.code
        return render_template("refunds/new_claim.html", **context), error_status(exc)
    session.commit()
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))


@bp.post("/manage/<token>/claims/<int:claim_id>/delete")
def delete_claim(token: str, claim_id: int):
    """Delete a draft that was never submitted."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delete_draft(session, claim.id)
    except DOMAIN_ERRORS as exc:
        session.rollback()
        flash(claim_message(exc.code), "error")
        return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))
    session.commit()
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
        problem=claim_problem(enrollment, now, deadline_months()),
        window=claim_window_for(enrollment, now),
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
