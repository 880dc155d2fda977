"""Enrolling in an offering: the sign-up form and the page that says it was received."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.i18n import current_locale
from core.limits import config_limit, limiter, normalise_email, normalise_hpr, per_form_value
from core.routes import Routes
from core.transaction import refusals
from enrollment import errors
from enrollment.forms.public import EnrollmentForm, start_month_choices
from enrollment.invitation_tokens import invited_entry
from enrollment.models import EnrollmentWindow
from enrollment.services import catalog, enrollments

routes = Routes()

# Refusals that send the person back to the course page, which says why.
BACK_TO_COURSE = (errors.NotOpenYet, errors.EnrollmentClosed, errors.OfferingCancelled)


def _enrollment_form(session, offering) -> EnrollmentForm:
    form = EnrollmentForm(
        allowed_roles=enrollments.eligible_roles(session, offering),
        start_months=start_month_choices(offering),
    )
    if request.method == "GET":
        form.locale.data = current_locale()
        _prefill_from_invitation(session, form, offering.id)
    return form


def _prefill_from_invitation(session, form: EnrollmentForm, offering_id: int) -> None:
    """An invitation link (``?invitation=``) fills in the invitee's name, role, HPR number and
    e-mail from the roster; a link that is not valid (changed, expired, for another course)
    says so and leaves the form empty (``enrollment.invitation_tokens``)."""
    token = request.args.get("invitation")
    if not token:
        return
    entry = invited_entry(session, token, offering_id)
    if entry is None:
        flash(_("This invitation link is not valid any more, so the form is not filled in. "
                "You can still enroll by filling it in yourself."), "error")
        return
    form.full_name.data, form.email.data = entry.full_name, entry.email
    form.role.data, form.hpr_number.data = entry.roster.role.value, entry.hpr_number or ""


@routes.route("/courses/<int:offering_id>/enroll", methods=["GET", "POST"])
@limiter.limit(config_limit("ENROLL_IP_RATE_LIMIT"), methods=["POST"])
@limiter.limit(config_limit("ENROLL_EMAIL_RATE_LIMIT"), methods=["POST"],
               **per_form_value("email", normalise_email))
@limiter.limit(config_limit("ENROLL_HPR_RATE_LIMIT"), methods=["POST"],
               **per_form_value("hpr_number", normalise_hpr))
def enroll(offering_id: int):
    """The sign-up form (while enrollment is open; else the course page says why); on success
    the outcome page, else the form with messages."""
    session = get_session()
    # The POST (the morning a course opens, hundreds at once) reads only what enrolling needs.
    load = catalog.load_offering if request.method == "GET" else enrollments.offering_to_enroll
    offering = load(session, offering_id)
    if offering is None:
        abort(404)
    if request.method == "GET" and offering.enrollment_window(utcnow()) != EnrollmentWindow.OPEN:
        return redirect(url_for("enrollment.show_course", offering_id=offering.id))
    form = _enrollment_form(session, offering)
    if form.validate_on_submit():
        with refusals(form) as refusal:
            result = enrollments.enroll(session, offering.id, form.person(), utcnow())
        if isinstance(refusal.error, errors.AlreadyEnrolled):
            # The same answer as a new enrollment, so the form tells no stranger who is
            # enrolled; the holder of the enrollment gets a mail with a fresh link instead.
            enrollments.enrolled_again(session, refusal.error.existing_id, utcnow())
            return _received(offering, form.email.data)
        if isinstance(refusal.error, BACK_TO_COURSE):
            flash(refusal.error.message, "error")
            return redirect(url_for("enrollment.show_course", offering_id=offering.id))
        if not refusal:
            return _received(offering, result.enrollment.participant.email)
    return render_template("enrollment/enroll.html", offering=offering, form=form,
                           now=utcnow()), 400 if form.errors else 200


def _received(offering, email: str):
    """The answer to an enrollment sent, new or already there: the same redirect and the same
    page (no seat or waiting-list status: that is in the mail to the enrollment's address)."""
    flask_session["enrolled"] = {"offering": offering.id, "email": email.strip().lower()}
    return redirect(url_for("enrollment.enrolled", offering_id=offering.id))


@routes.get("/courses/<int:offering_id>/enrolled")
def enrolled(offering_id: int):
    """That the enrollment was received and where the mail went, in plain words."""
    outcome = flask_session.pop("enrolled", None)
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None or not outcome or outcome.get("offering") != offering_id:
        return redirect(url_for("enrollment.show_course", offering_id=offering_id))
    return render_template("enrollment/enrolled.html", offering=offering, outcome=outcome)
