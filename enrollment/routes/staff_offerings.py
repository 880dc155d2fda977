"""Staff pages for course offerings: the list, create and edit, publish, unpublish and cancel.
The sessions of an offering are in ``staff_sessions``, the course kinds' learning objectives in
``staff_kinds``.

Views are thin: they load objects only through ``scoped_or_404`` / ``county_scope``, validate
the form and call ``enrollment.services.offerings``; the request's edge commits.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from core.auth import county_scope, scoped_or_404, staff_required, visible_counties
from core.db import get_session, utcnow
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment.forms.offerings import (
    ActionForm,
    CancelOfferingForm,
    OfferingForm,
    oslo_from_utc,
    utc_from_oslo,
)
from enrollment.models import CourseKind, CourseOffering, OfferingStatus
from enrollment.services import cohorts, messages, offerings

routes = Routes()

STATUS_TITLES = {
    OfferingStatus.DRAFT: _l("Draft"),
    OfferingStatus.PUBLISHED: _l("Published"),
    OfferingStatus.CANCELLED: _l("Cancelled"),
}
# --- helpers ----------------------------------------------------------------------------------


def actor():
    """The signed-in staff member, for the audit events."""
    return current_user._get_current_object()


def _cohort_choices(current: date | None) -> list[tuple[str, str]]:
    """The LIS1 doctors' March and September cohorts, then the interns' turnus years, from
    last year to two years ahead (and the offering's own); '—' is no cohort."""
    year = utcnow().year
    choices = [("", "—")]
    for scheme in cohorts.SCHEME_MONTHS:
        listed = cohorts.cohorts_between(scheme, year - 1, year + 2)
        if current is not None and cohorts.scheme_of(current) == scheme and current not in listed:
            listed = sorted([*listed, current])
        choices += [(cohorts.cohort_code(c), cohorts.cohort_label(c)) for c in listed]
    return choices


def _offering_form(session, offering: CourseOffering | None) -> OfferingForm:
    data = {"capacity": 30, "min_share_percent": 75, "refund_eligible": True,
            "reminder_days": 7, "offer_hours": 48}
    if offering is not None:
        data = {name: getattr(offering, name) for name in offerings.OFFERING_FIELDS}
        data.update(kind=str(offering.kind_id), county=str(offering.county_id),
                    cohort=cohorts.cohort_code(offering.cohort) if offering.cohort else "",
                    **{n: oslo_from_utc(getattr(offering, n)) for n in
                       ("enroll_opens_at", "enroll_closes_at", "cancel_deadline")})
        data.update(offers_expire=offering.offer_hours is not None,
                    offer_hours=offering.offer_hours or 48)
    form = OfferingForm(data=data)
    kinds = list(session.scalars(sa.select(CourseKind).order_by(CourseKind.position)))
    form.kind.choices = [("", "—")] + [(str(k.id), k.name()) for k in kinds]
    form.kind_rows = {str(k.id): k for k in kinds}
    form.cohort.choices = _cohort_choices(offering.cohort if offering else None)
    if current_user.is_admin:
        form.county.choices = [("", "—")] + [(str(c.id), c.name())
                                              for c in visible_counties(session)]
    else:
        del form.county
    return form


def _moment_value(form: OfferingForm, name: str, offering: CourseOffering | None):
    """The field as UTC; an untouched field keeps the stored value, which may have seconds."""
    entered = form[name].data
    stored = getattr(offering, name) if offering is not None else None
    if entered is None:
        return None
    if stored is not None and oslo_from_utc(stored).replace(second=0, microsecond=0) == entered:
        return stored
    return utc_from_oslo(entered)


def _values(form: OfferingForm, offering: CourseOffering | None) -> offerings.OfferingValues:
    county_id = int(form.county.data) if "county" in form else current_user.county_id
    text = {n: form[n].data or "" for n in offerings.OFFERING_FIELDS
            if n.startswith(("title_", "description_", "signer_")) or n in ("venue", "meeting_url")}
    return offerings.OfferingValues(
        county_id=county_id, kind_id=int(form.kind.data),
        cohort=cohorts.parse_cohort(form.cohort.data) if form.cohort.data else None,
        capacity=form.capacity.data,
        enroll_opens_at=_moment_value(form, "enroll_opens_at", offering),
        enroll_closes_at=_moment_value(form, "enroll_closes_at", offering),
        cancel_deadline=_moment_value(form, "cancel_deadline", offering),
        requires_approval=form.requires_approval.data, refund_eligible=form.refund_eligible.data,
        min_share_percent=form.min_share_percent.data, reminder_days=form.reminder_days.data,
        offer_hours=form.offer_hours.data if form.offers_expire.data else None, **text,
    )


def offering_or_404(offering_id: int) -> CourseOffering:
    """The offering with its county, kind and sessions, if the user's county owns it."""
    return scoped_or_404(
        sa.select(CourseOffering).where(CourseOffering.id == offering_id).options(
            joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
            selectinload(CourseOffering.sessions)),
        CourseOffering.county_id,
    )


def edit_page(offering_id: int):
    """Back to the offering's edit page."""
    return redirect(url_for("enrollment.edit_offering", offering_id=offering_id))


def render_form(template: str, form, **context):
    """The page with its form; 400 when the form has errors."""
    return render_template(template, form=form, **context), 400 if form.errors else 200


@routes.after_request
def _staff_pages_are_personal(response):
    if request.path.startswith("/staff/"):
        no_store(response)
    return response


# --- offerings --------------------------------------------------------------------------------


@routes.get("/staff/courses")
@staff_required
def list_staff_offerings():
    """The offerings of the user's county (every county for an administrator), drafts too."""
    rows = get_session().scalars(
        sa.select(CourseOffering).where(county_scope(CourseOffering.county_id))
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
                 selectinload(CourseOffering.sessions))
        .order_by(CourseOffering.cohort.desc().nulls_last(), CourseOffering.id.desc())
    ).all()
    return render_template("enrollment/staff/offerings.html", offerings=rows,
                           status_titles=STATUS_TITLES, cohort_short=cohorts.cohort_short)


@routes.route("/staff/courses/new", methods=["GET", "POST"])
@staff_required
def create_offering():
    """Create a draft offering."""
    session = get_session()
    form = _offering_form(session, None)
    if form.validate_on_submit():
        with refusals(form) as refusal:
            offering = offerings.create_offering(session, _values(form, None), actor())
        if not refusal:
            flash(_("The course is saved as a draft. Add its course days, then publish it."),
                  "success")
            return edit_page(offering.id)
    return render_form("enrollment/staff/offering_form.html", form, offering=None)


@routes.route("/staff/courses/<int:offering_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_offering(offering_id: int):
    """Edit an offering; also lists its sessions and the publish/cancel buttons."""
    session = get_session()
    offering = offering_or_404(offering_id)
    form = _offering_form(session, offering)
    if form.validate_on_submit():
        with refusals(form) as refusal:
            promoted = offerings.update_offering(session, offering, _values(form, offering),
                                                  actor())
        if not refusal:
            flash(_("The course is saved."), "success")
            if promoted:
                flash(ngettext("%(num)d person got a seat from the waiting list.",
                               "%(num)d people got a seat from the waiting list.",
                               len(promoted)), "success")
            return edit_page(offering_id)
    return render_form("enrollment/staff/offering_form.html", form, offering=offering,
                       action_form=ActionForm(), status_titles=STATUS_TITLES,
                       sent_messages=messages.sent(session, offering.id))


def _status_action(offering_id: int, operation, done: str):
    offering = offering_or_404(offering_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # the message is shown at the top of the edit page
        operation(get_session(), offering, actor())
    if not refusal:
        flash(done, "success")
    return edit_page(offering_id)


@routes.post("/staff/courses/<int:offering_id>/publish")
@staff_required
def publish_offering(offering_id: int):
    """Publish a draft: it appears in the catalog."""
    return _status_action(offering_id, offerings.publish,
                          _("The course is published and shown in the catalog."))


@routes.post("/staff/courses/<int:offering_id>/unpublish")
@staff_required
def unpublish_offering(offering_id: int):
    """Take a published offering without participants back to draft."""
    return _status_action(offering_id, offerings.unpublish,
                          _("The course is a draft again and hidden from the catalog."))


@routes.route("/staff/courses/<int:offering_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_offering(offering_id: int):
    """Confirm, then cancel an offering and every enrollment in it; participants are e-mailed."""
    session = get_session()
    offering = offering_or_404(offering_id)
    form = CancelOfferingForm()
    if form.validate_on_submit():
        with refusals() as refusal:
            cancelled = offerings.cancel_offering(session, offering, actor(),
                                                  form.reason.data or "")
        if refusal:
            return edit_page(offering_id)
        flash(ngettext("The course is cancelled. %(num)d participant is told by e-mail.",
                       "The course is cancelled. %(num)d participants are told by e-mail.",
                       len(cancelled)), "success")
        return edit_page(offering_id)
    return render_form("enrollment/staff/cancel_offering.html", form, offering=offering,
                   active=offerings.active_count(session, offering.id))


