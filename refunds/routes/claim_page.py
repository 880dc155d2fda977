"""What the participant's claim pages share: the enrollment and claim a manage link opens (or
404), the claim page with its forms, a domain refusal shown next to the fields it concerns, the
claim window, and the words for a line.

Every claim is found by its id *and* the enrollment of the token, so another person's token
answers 404. Used by ``routes.claims`` and ``routes.receipts``; the template helpers are
registered by ``routes/__init__``.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    abort,
    current_app,
    render_template,
)
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.i18n import current_locale, format_short_day
from enrollment.models import Enrollment
from enrollment.services.links import find_by_token
from refunds.bank import format_account
from refunds.calc import explain
from refunds.eligibility import Standing, standing
from refunds.errors import (
    LINE_FIELDS,
    CalcError,
    ClaimIncomplete,
    InvalidAccountNumber,
    LinesRefused,
    OutsideClaimWindow,
    OutsideJourney,
    journey_message,
    message,
    window_message,
)
from refunds.forms.claim import ClaimForm, ConfirmForm, UploadForm
from refunds.forms.fields import km_text, kroner_text
from refunds.journey import journey_window
from refunds.models import COST_KINDS, Claim, LineKind, TravelMeans
from refunds.queries import claim_select
from refunds.services.status import EDITABLE

# --- helpers ----------------------------------------------------------------------------------


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


def explain_line(line) -> str:
    """A computed or stored line's arithmetic in words, in the active language."""
    return explain(line, current_locale())


def describe_claim_line(line) -> str:
    """Template access to ``describe_line``."""
    return describe_line(line)


def masked_account(digits: str) -> str:
    """An account number with only its last four digits shown."""
    return f"•••• •• •{digits[-4:]}" if len(digits) == 11 else ""


def standing_of(enrollment: Enrollment, now: datetime) -> Standing:
    """Where the enrollment stands for claims now (``eligibility.standing``): what every claim
    page shows and offers."""
    return standing(get_session(), enrollment, now, deadline_months())


def standing_context(enrollment: Enrollment, now: datetime) -> dict:
    """The template context every claim page shares: ``standing``, and its ``problem`` and
    ``window``."""
    found = standing_of(enrollment, now)
    return dict(standing=found, problem=found.problem, window=found.window)


# --- loading -----------------------------------------------------------------------------------


def enrollment_or_404(token: str) -> Enrollment:
    """The enrollment the manage token opens, or 404."""
    enrollment = find_by_token(get_session(), token)
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


def receipt_choices(claim: Claim) -> list[tuple[str, str]]:
    """The claim's receipts, for choosing which one a line has."""
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
                   problems=list(problems), journey=journey,
                   **standing_context(enrollment, now))
    if claim.status not in EDITABLE:
        return render_template("refunds/claim_view.html", **context), status
    if form is None:
        form = ClaimForm(formdata=None, data=_form_data(claim, current_locale()))
    form.set_receipt_choices(receipt_choices(claim))
    # What concerns the claim as a whole joins the form's own errors, so the error summary
    # lists it with the fields' errors (and the page's title says "Error:").
    form.form_errors = [*form.form_errors, *(p for p in problems if p not in form.form_errors)]
    if upload_form is None:
        upload_form = UploadForm(formdata=None)
    upload_form.line.choices = line_choices(claim)
    return render_template(
        "refunds/claim_form.html", form=form, upload_form=upload_form, preview=preview,
        delete_form=ConfirmForm(formdata=None), **context,
    ), status


def add_error(field, text) -> None:
    """Show ``text`` next to ``field``."""
    field.errors = [*field.errors, text]


def show_refusal(form: ClaimForm, rows: list, exc: Exception) -> list[str]:
    """Put a domain refusal next to the fields it concerns; returns what concerns no field."""
    problems = []
    if isinstance(exc, LinesRefused):
        for error in exc.errors:
            text = message(error.code)
            if isinstance(error, OutsideJourney):
                text = journey_message(error.first, error.last)
            row = rows[error.index]
            name = LINE_FIELDS.get(error.code, "travel_date")
            add_error(row._fields.get(name) or row.travel_date, text)
    elif isinstance(exc, InvalidAccountNumber):
        add_error(form.bank_account, message("bank_account_invalid"))
    elif isinstance(exc, ClaimIncomplete):
        for problem in exc.problems:
            if problem.startswith("bank_account"):
                add_error(form.bank_account, message(problem))
            else:
                problems.append(str(message(problem)))
        for position in exc.lines_missing_receipt:
            if position < len(rows):
                add_error(rows[position].receipt, _("This line needs a receipt."))
    elif isinstance(exc, OutsideClaimWindow):
        problems.append(window_message(exc))
    elif isinstance(exc, CalcError):
        problems.append(str(message(exc.code)))
    elif getattr(exc, "code", "") == "comment_too_long":
        add_error(form.comment, message(exc.code))
    else:
        problems.append(str(message(getattr(exc, "code", ""))))
    form.refresh_errors()
    return problems
