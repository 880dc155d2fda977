"""Public pages of the enrollment plugin: the catalog and the course pages."""

from __future__ import annotations

from datetime import date, timedelta

from babel.lists import format_list
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.caching import public_page
from core.db import get_session, utcnow
from core.i18n import current_locale, format_short_month, to_local
from core.jobs import queue_job
from core.limits import (
    config_limit,
    form_email_key,
    limiter,
    normalise_email,
    normalise_hpr,
    per_form_value,
)
from core.web import external_url, no_store, public_host
from enrollment import (
    catalog,
    cohorts,
    email_change,
    notifications,
    privacy,
    services,
)
from enrollment import links as manage_links
from enrollment.calendar import offering_ics
from enrollment.forms import (
    PUBLIC_ROLES,
    CatalogFilterForm,
    ContactForm,
    EnrollmentForm,
    LostLinkForm,
)
from enrollment.models import CohortScheme, Role
from enrollment.panels import manage_panels, refund_rule

bp = Blueprint("enrollment", __name__, template_folder="templates")

# Pages of one person: their enrollment, its manage link and the rails on it (manage_views).
PERSONAL_ENDPOINTS = frozenset({"manage", "update_contact", "enrolled", "enroll",
                                "confirm_cancellation", "cancel", "confirm_withdraw_links",
                                "withdraw_links", "email_change_page", "email_change"})


@bp.after_request
def _personal_pages_are_not_cached(response):
    if request.endpoint and request.endpoint.split(".")[-1] in PERSONAL_ENDPOINTS:
        no_store(response)
    return response


def _filter_form(session) -> tuple[CatalogFilterForm, list, list]:
    counties, kinds, known_cohorts = catalog.filter_choices(session)
    form = CatalogFilterForm(request.args)
    locale = current_locale()
    form.county.choices = [("", _("All offices"))] + [(c.slug, c.name(locale)) for c in counties]
    form.kind.choices = [("", _("All courses"))] + [(k.code, k.name(locale)) for k in kinds]
    form.role.choices = [("", _("Anyone"))] + [(r.value, r.title) for r in PUBLIC_ROLES]
    form.cohort.choices = [("", _("All cohorts"))] + [
        (cohorts.cohort_code(c), cohorts.cohort_label(c)) for c in known_cohorts
    ]
    return form, counties, kinds


def _public_pages_changed_at():
    return catalog.last_change(get_session(), utcnow())


@bp.get("/")
@public_page(_public_pages_changed_at)
def show_catalog():
    """The catalog of published offerings, filtered by the query string."""
    session = get_session()
    form, counties, kinds = _filter_form(session)
    if not form.validate():
        return render_template("enrollment/catalog.html", form=form, page=None), 400
    county = next((c for c in counties if c.slug == form.county.data), None)
    if form.county.data and county is None:
        abort(404)
    flt = catalog.CatalogFilter(
        county_id=county.id if county else None,
        kind_id=next((k.id for k in kinds if k.code == form.kind.data), None),
        role=Role(form.role.data) if form.role.data else None,
        cohort=cohorts.parse_cohort(form.cohort.data) if form.cohort.data else None,
        open_only=form.open.data,
    )
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    page = catalog.catalog_page(session, flt, form.page_number, per_page, utcnow())
    if form.page_number > page.pages:
        abort(404)
    return render_template("enrollment/catalog.html", form=form, page=page, now=utcnow())


@bp.get("/courses/<int:offering_id>")
@public_page(_public_pages_changed_at)
def show_course(offering_id: int):
    """The public page of one offering."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    return render_template("enrollment/course.html", offering=offering, now=utcnow())


@bp.get("/courses/<int:offering_id>.ics")
@public_page(_public_pages_changed_at)
def download_ics(offering_id: int):
    """The offering's sessions as an iCalendar file."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    body = offering_ics(offering, current_locale(), public_host(),
                        external_url("enrollment.show_course", offering_id=offering.id))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="course-{offering.id}.ics"'},
    )


@bp.app_template_global()
def cohort_label(cohort) -> str:
    """Template access to the translated cohort label ('No cohort' for None)."""
    return cohorts.cohort_label(cohort)


@bp.app_template_global()
def roles_in_order(roles) -> list[Role]:
    """Roles in the order the forms list them."""
    return [r for r in Role if r in roles]


@bp.app_template_global()
def refund_statement(offering) -> str | None:
    """Who of those who may enroll in ``offering`` is refunded travel costs, in a sentence,
    decided by the refund rule a plugin registered; None when no plugin takes claims."""
    rule = refund_rule()
    if rule is None:
        return None
    roles = roles_in_order(offering.kind.role_set)
    refunded = [r for r in roles if rule(offering, r)]
    others = [r for r in roles if r not in refunded]
    if not refunded:
        return _("Travel costs are not refunded for this course.")
    locale = current_locale()
    names = format_list([str(r.plural) for r in refunded], locale=locale)
    if not others:
        return _("Travel costs are refunded for %(roles)s.", roles=names)
    return _("Travel costs are refunded for %(roles)s, not for %(others)s.", roles=names,
             others=format_list([str(r.plural) for r in others], locale=locale))


# --- enrollment --------------------------------------------------------------------------------

ERROR_MESSAGES = {
    services.NotOpenYet: _l("Enrollment to this course has not opened yet."),
    services.EnrollmentClosed: _l("The enrollment deadline for this course has passed."),
    services.OfferingCancelled: _l("This course is cancelled and takes no enrollments."),
}


def _start_month_choices(offering) -> list[tuple[str, str]]:
    """The municipal-start months around the offering's cohort, for LIS1 doctors to choose
    from; for an offering of another scheme or none, around the start in service when the
    course begins (or today)."""
    anchor = offering.cohort
    if anchor is None or cohorts.scheme_of(anchor) != CohortScheme.MUNICIPAL_START:
        begins = offering.sessions[0].starts_at if offering.sessions else utcnow()
        anchor = cohorts.cohort_containing(CohortScheme.MUNICIPAL_START, to_local(begins).date())
    months = []
    for delta in (-12, -6, 0, 6, 12):
        total = anchor.year * 12 + anchor.month - 1 + delta
        month = date(total // 12, total % 12 + 1, 1)
        months.append((month.strftime("%Y-%m"), format_short_month(month)))
    return months


def _enrollment_form(session, offering) -> EnrollmentForm:
    form = EnrollmentForm(
        allowed_roles=services.eligible_roles(session, offering),
        start_months=_start_month_choices(offering),
    )
    if request.method == "GET":
        form.locale.data = current_locale()
    return form


def _person(form: EnrollmentForm) -> services.PersonDetails:
    start = form.start_month.data
    return services.PersonDetails(
        full_name=form.full_name.data, email=form.email.data, phone=form.phone.data,
        role=Role(form.role.data), hpr_number=form.hpr_number.data or None,
        employer=form.employer.data, locale=form.locale.data, needs=form.needs.data or "",
        start_month=date(int(start[:4]), int(start[5:7]), 1) if start else None,
    )


@bp.route("/courses/<int:offering_id>/enroll", methods=["GET", "POST"])
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
            result = services.enroll(session, offering.id, _person(form), utcnow())
        except services.AlreadyEnrolled as exc:
            # The same answer as a new enrollment, so the form tells no stranger who is
            # enrolled; the holder of the enrollment gets a mail with a fresh link instead.
            session.rollback()
            notifications.send_already_enrolled(session, exc.existing_id)
            session.commit()
            return _received(offering, form.email.data)
        except tuple(ERROR_MESSAGES) as exc:
            session.rollback()
            flash(str(ERROR_MESSAGES[type(exc)]), "error")
            return redirect(url_for("enrollment.show_course", offering_id=offering.id))
        except services.NotEligible:
            form.role.errors = [*form.role.errors, _("This course is not open to your role. "
                                                    "See who may enroll on the course page.")]
        else:
            notifications.notify_enrolled(session, result.enrollment, result.token,
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


@bp.get("/courses/<int:offering_id>/enrolled")
def enrolled(offering_id: int):
    """That the enrollment was received and where the mail went, in plain words."""
    outcome = flask_session.pop("enrolled", None)
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None or not outcome or outcome.get("offering") != offering_id:
        return redirect(url_for("enrollment.show_course", offering_id=offering_id))
    return render_template("enrollment/enrolled.html", offering=offering, outcome=outcome)


@bp.post("/manage/lost-link")
@limiter.limit(config_limit("LOST_LINK_IP_RATE_LIMIT"))
@limiter.limit(config_limit("LINK_EMAIL_RATE_LIMIT"), key_func=form_email_key)
def resend_links():
    """E-mail a new manage link to each active enrollment of the address; the links already
    sent keep working, and the answer, the work and so the time are the same whether the
    address is known or not."""
    form = LostLinkForm()
    if not form.validate_on_submit():
        return render_template("enrollment/lost_link.html", form=form), 400
    session = get_session()
    # One job row whatever the address: the answer, its time and the database work tell nothing
    # about whether it is known. The outbox sender does the lookup (notifications.send_lost_links).
    queue_job(session, notifications.LOST_LINK_JOB, {"email": form.email.data.strip().lower()})
    session.commit()
    return render_template("enrollment/lost_link_sent.html", email=form.email.data)


@bp.get("/manage/lost-link")
def lost_link():
    """The form asking for one's manage links."""
    return render_template("enrollment/lost_link.html", form=LostLinkForm())


# --- the participant's own page --------------------------------------------------------------


def _enrollment_or_404(token: str):
    enrollment = services.find_by_token(get_session(), token)
    if enrollment is None:
        abort(404)
    return enrollment


def _manage_page(enrollment, token, contact_form=None, status=200):
    session = get_session()
    if contact_form is None:
        contact_form = ContactForm(obj=enrollment.participant, needs=enrollment.needs)
    panels = [panel(enrollment, token) for panel in manage_panels()]
    return render_template(
        "enrollment/manage.html", enrollment=enrollment, token=token, form=contact_form,
        other_links=manage_links.other_link_count(session, enrollment, token),
        position=services.waitlist_position(session, enrollment),
        deadline=services.cancellation_deadline(enrollment.offering), now=utcnow(),
        panels=[p for p in panels if p],
        erasure_request=privacy.pending_request(session, enrollment.participant_id),
        email_change=email_change.pending_change(session, enrollment.participant_id, utcnow()),
    ), status


@bp.get("/manage/<token>")
def manage(token: str):
    """A participant's own enrollment: status, sessions, contact details, cancel."""
    return _manage_page(_enrollment_or_404(token), token)


@bp.post("/manage/<token>/contact")
def update_contact(token: str):
    """Save changed contact details; a new e-mail address waits for confirmation from a link
    sent to it, and the old address is told."""
    session = get_session()
    enrollment = _enrollment_or_404(token)
    form = ContactForm()
    if not form.validate_on_submit():
        return _manage_page(enrollment, token, form, 400)
    services.update_contact(
        session, enrollment, full_name=form.full_name.data, phone=form.phone.data,
        employer=form.employer.data, needs=form.needs.data or "", locale=form.locale.data,
    )
    hours = current_app.config["EMAIL_CHANGE_LINK_HOURS"]
    asked = email_change.request_change(session, enrollment, form.email.data, utcnow(),
                                        timedelta(hours=hours))
    if asked is not None:
        notifications.notify_email_change(session, asked.change, asked.confirm_token,
                                          asked.cancel_token)
    session.commit()
    flash(_("Your contact details are saved."), "success")
    if asked is not None:
        flash(_("To change your e-mail address to %(new)s, open the link we have sent there "
                "within %(hours)s hours. Until then we write to %(old)s, and we have told "
                "that address about the change.", new=asked.change.new_email, hours=hours,
                old=enrollment.participant.email), "success")
    return redirect(url_for("enrollment.manage", token=token))


