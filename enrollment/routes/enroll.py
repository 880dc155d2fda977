"""Enrolling in an offering: the sign-up form and the page that says it was received."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.i18n import current_locale
from core.limits import config_limit, limiter, normalise_email, normalise_hpr, per_form_value
from core.routes import Routes
from enrollment import errors, mail
from enrollment.forms.public import EnrollmentForm, start_month_choices
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
    return form


@routes.route("/courses/<int:offering_id>/enroll", methods=["GET", "POST"])
@limiter.limit(config_limit("ENROLL_IP_RATE_LIMIT"), methods=["POST"])
@limiter.limit(config_limit("ENROLL_EMAIL_RATE_LIMIT"), methods=["POST"],
               **per_form_value("email", normalise_email))
@limiter.limit(config_limit("ENROLL_HPR_RATE_LIMIT"), methods=["POST"],
               **per_form_value("hpr_number", normalise_hpr))
def enroll(offering_id: int):
    """The sign-up form; on success the outcome page, else the form with messages."""
    session = get_session()
    offering = catalog.load_offering(session, offering_id)
    if offering is None:
        abort(404)
    form = _enrollment_form(session, offering)
    status = 200
    if form.validate_on_submit():
        try:
            result = enrollments.enroll(session, offering.id, form.person(), utcnow())
        except errors.AlreadyEnrolled as exc:
            # The same answer as a new enrollment, so the form tells no stranger who is
            # enrolled; the holder of the enrollment gets a mail with a fresh link instead.
            session.rollback()
            mail.send_already_enrolled(session, exc.existing_id)
            session.commit()
            return _received(offering, form.email.data)
        except BACK_TO_COURSE as exc:
            session.rollback()
            flash(errors.message(exc), "error")
            return redirect(url_for("enrollment.show_course", offering_id=offering.id))
        except errors.NotEligible:
            form.role.errors = [*form.role.errors, _("This course is not open to your role. "
                                                    "See who may enroll on the course page.")]
        else:
            mail.notify_enrolled(session, result.enrollment, result.token,
                                 result.waitlist_position)
            session.commit()
            return _received(offering, result.enrollment.participant.email)
    if form.errors:
        status = 400
    return render_template("enrollment/enroll.html", offering=offering, form=form,
                           now=utcnow()), status


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
