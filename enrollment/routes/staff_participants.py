"""Staff pages for the participants of an offering: the list, approve, reject, cancel, move,
add by hand, search, and the CSV and XLSX exports.

Every object is loaded through ``scoped_or_404``, so county staff reach only their own county's
enrollments (others answer 404); the domain work is in ``enrollment.services.participants``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from core.auth import county_scope, scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.exports import download
from core.i18n import current_locale, format_short_day
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment import errors, exports
from enrollment.forms.participants import (
    AddParticipantForm,
    ConfirmForm,
    MoveForm,
    RejectForm,
    SearchForm,
    StaffCancelForm,
)
from enrollment.forms.public import start_month_choices
from enrollment.models import CourseKind, CourseOffering, Enrollment, Role
from enrollment.panels import roster_parts
from enrollment.services import enrollments, participants

routes = Routes()

STAFF_ENDPOINTS = frozenset({
    "list_participants", "approve_enrollment", "reject_enrollment", "cancel_enrollment",
    "move_enrollment", "add_participant", "search_participants", "export_participants_csv",
    "export_participants_xlsx",
})


@routes.after_request
def _staff_pages_are_not_cached(response):
    if request.endpoint and request.endpoint.split(".")[-1] in STAFF_ENDPOINTS:
        no_store(response)
    return response


# --- loading, always scoped to the user's county -----------------------------------------------


def _offering_or_404(offering_id: int) -> CourseOffering:
    return scoped_or_404(
        sa.select(CourseOffering)
        .join(CourseOffering.county)
        .where(CourseOffering.id == offering_id)
        .options(contains_eager(CourseOffering.county),
                 joinedload(CourseOffering.kind).selectinload(CourseKind.objectives),
                 selectinload(CourseOffering.sessions)),
        CourseOffering.county_id,
    )


def _enrollment_or_404(enrollment_id: int) -> Enrollment:
    return scoped_or_404(
        sa.select(Enrollment)
        .join(Enrollment.offering)
        .where(Enrollment.id == enrollment_id)
        .options(contains_eager(Enrollment.offering).joinedload(CourseOffering.county),
                 contains_eager(Enrollment.offering).joinedload(CourseOffering.kind),
                 joinedload(Enrollment.participant)),
        CourseOffering.county_id,
    )


def _back_to_list(offering_id: int):
    return redirect(url_for("enrollment.list_participants", offering_id=offering_id))


# --- the list ------------------------------------------------------------------------------------


@routes.get("/staff/courses/<int:offering_id>/participants")
@staff_required
def list_participants(offering_id: int):
    """Confirmed, pending, waiting list in order, then cancelled and rejected."""
    offering = _offering_or_404(offering_id)
    roster = participants.roster(get_session(), offering.id)
    return render_template("enrollment/staff/participants.html", offering=offering,
                           roster=roster, row_urls=_row_urls(), parts=roster_parts(offering),
                           role_titles={role: str(role.title) for role in Role})


# The row actions' endpoints; ``_row_urls`` builds each once per page.
ROW_ACTIONS = {"approve": "enrollment.approve_enrollment", "reject": "enrollment.reject_enrollment",
               "move": "enrollment.move_enrollment", "cancel": "enrollment.cancel_enrollment"}
_ID_MARK = 987654321


def _row_urls() -> dict[str, str]:
    """Each row action's URL with ``{}`` for the enrollment id: building a URL costs more than
    the rest of a row, and the list can hold hundreds."""
    return {name: url_for(endpoint, enrollment_id=_ID_MARK).replace(str(_ID_MARK), "{}")
            for name, endpoint in ROW_ACTIONS.items()}


@routes.post("/staff/enrollments/<int:enrollment_id>/approve")
@staff_required
def approve_enrollment(enrollment_id: int):
    """Approve a pending enrollment: a seat if one is free, else the waiting list."""
    enrollment = _enrollment_or_404(enrollment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # it changed meanwhile: the list says where it stands now
        decision = participants.approve(get_session(), enrollment.id, actor=current_user)
    if refusal:
        return _back_to_list(enrollment.offering_id)
    name = enrollment.participant.full_name
    if decision.waitlist_position is None:
        flash(_("%(name)s is approved and has a seat.", name=name), "success")
    else:
        flash(_("%(name)s is approved and is number %(pos)s on the waiting list.", name=name,
                pos=decision.waitlist_position), "success")
    return _back_to_list(enrollment.offering_id)


@routes.route("/staff/enrollments/<int:enrollment_id>/reject", methods=["GET", "POST"])
@staff_required
def reject_enrollment(enrollment_id: int):
    """Reject a pending or waitlisted enrollment, with a reason the participant is sent."""
    enrollment = _enrollment_or_404(enrollment_id)
    form = RejectForm()
    if form.validate_on_submit():
        with refusals() as refusal:
            participants.reject(get_session(), enrollment.id, form.reason.data,
                                actor=current_user)
        if refusal:
            return _back_to_list(enrollment.offering_id)
        flash(_("The enrollment of %(name)s is rejected.",
                name=enrollment.participant.full_name), "success")
        return _back_to_list(enrollment.offering_id)
    return render_template("enrollment/staff/participants_reject.html", enrollment=enrollment,
                           form=form), 400 if form.errors else 200


@routes.route("/staff/enrollments/<int:enrollment_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_enrollment(enrollment_id: int):
    """Cancel on the participant's behalf, whatever the deadline; the next in line moves up."""
    enrollment = _enrollment_or_404(enrollment_id)
    form = StaffCancelForm()
    if form.validate_on_submit():
        with refusals() as refusal:
            decision = participants.cancel(get_session(), enrollment.id,
                                           form.reason.data or "", actor=current_user,
                                           now=utcnow())
        if refusal:
            return _back_to_list(enrollment.offering_id)
        flash(_("The enrollment of %(name)s is cancelled.",
                name=enrollment.participant.full_name), "success")
        for other in decision.promoted:
            flash(_("%(name)s moved up from the waiting list and has a seat.",
                    name=other.participant.full_name), "success")
        return _back_to_list(enrollment.offering_id)
    return render_template("enrollment/staff/participants_cancel.html", enrollment=enrollment,
                           form=form), 400 if form.errors else 200


def _target_label(offering: CourseOffering) -> str:
    label = offering.title()
    if offering.sessions:
        label += f", {format_short_day(offering.sessions[0].starts_at)}"
    if offering.is_full:
        return _("%(course)s (full: waiting list)", course=label)
    return _("%(course)s (%(seats)s seats left)", course=label, seats=offering.seats_left)


@routes.route("/staff/enrollments/<int:enrollment_id>/move", methods=["GET", "POST"])
@staff_required
def move_enrollment(enrollment_id: int):
    """Move an enrollment to another offering of the same kind in the same county."""
    enrollment = _enrollment_or_404(enrollment_id)
    session = get_session()
    targets = participants.move_targets(session, enrollment,
                                        scope=county_scope(CourseOffering.county_id))
    form = MoveForm()
    form.target.choices = [(o.id, _target_label(o)) for o in targets]
    if form.validate_on_submit():
        with refusals(form) as refusal:
            move = participants.move(session, enrollment.id, form.target.data,
                                     actor=current_user, now=utcnow())
        if isinstance(refusal.error, errors.InvalidTransition):  # it changed meanwhile
            flash(refusal.error.message, "error")
            return _back_to_list(enrollment.offering_id)
        if not refusal:
            flash(_("%(name)s is moved to %(course)s.", name=enrollment.participant.full_name,
                    course=move.new.offering.title()), "success")
            return _back_to_list(enrollment.offering_id)
    return render_template("enrollment/staff/participants_move.html", enrollment=enrollment,
                           form=form, targets=targets), 400 if form.errors else 200


@routes.route("/staff/courses/<int:offering_id>/participants/new", methods=["GET", "POST"])
@staff_required
def add_participant(offering_id: int):
    """Enroll someone by hand, also outside the enrollment window."""
    offering = _offering_or_404(offering_id)
    session = get_session()
    form = AddParticipantForm(allowed_roles=enrollments.eligible_roles(session, offering),
                              start_months=start_month_choices(offering))
    if request.method == "GET":
        form.locale.data = offering.county.default_locale
    if form.validate_on_submit():
        with refusals(form) as refusal:
            result = participants.add(session, offering.id, form.person(), actor=current_user,
                                      now=utcnow())
        if isinstance(refusal.error, errors.OfferingCancelled):
            flash(refusal.error.message, "error")
            return _back_to_list(offering.id)
        if not refusal:
            flash(_("%(name)s is added: %(status)s.", name=result.enrollment.participant.full_name,
                    status=result.enrollment.status_title), "success")
            return _back_to_list(offering.id)
    return render_template("enrollment/staff/participants_new.html", offering=offering,
                           form=form), 400 if form.errors else 200


@routes.get("/staff/participants/search")
@staff_required
def search_participants():
    """Find enrollments in one's county by the participant's name, e-mail or HPR number."""
    form = SearchForm(request.args)
    results = None
    if form.q.data and form.validate():
        results = participants.search(get_session(), form.q.data,
                                      scope=county_scope(CourseOffering.county_id))
    return render_template("enrollment/staff/participants_search.html", form=form,
                           results=results), 400 if form.errors else 200


# --- exports -------------------------------------------------------------------------------------


def _download(offering: CourseOffering, body: bytes, extension: str, content_type: str):
    return download(body, content_type, f"participants-{offering.id}.{extension}")


@routes.get("/staff/courses/<int:offering_id>/participants.csv")
@staff_required
def export_participants_csv(offering_id: int):
    """The participant list as CSV (UTF-8 with BOM, ``;`` separated) for Excel."""
    offering = _offering_or_404(offering_id)
    body = exports.to_csv(participants.roster(get_session(), offering.id))
    return _download(offering, body, "csv", exports.CSV_MIMETYPE)


@routes.get("/staff/courses/<int:offering_id>/participants.xlsx")
@staff_required
def export_participants_xlsx(offering_id: int):
    """The participant list as an Excel workbook."""
    offering = _offering_or_404(offering_id)
    roster = participants.roster(get_session(), offering.id)
    body = exports.to_xlsx(roster, offering.title(current_locale()))
    return _download(offering, body, "xlsx", exports.XLSX_MIMETYPE)
