"""Privacy pages: a participant downloads their data and asks for erasure from the manage link;
staff of the offering's county see pending requests and confirm them.

Thin views over ``enrollment.privacy`` and ``core.privacy``; staff objects are loaded through
``scoped_or_404``, so other counties' requests answer 404.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import privacy as core_privacy
from core.auth import county_scope, scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.forms import AppForm
from core.web import no_store
from enrollment import privacy
from enrollment.models import CourseOffering, Enrollment, ErasureRequest, Participant
from enrollment.views import _enrollment_or_404, bp

PRIVATE_ENDPOINTS = frozenset({"download_personal_data", "ask_for_erasure",
                               "list_erasure_requests", "confirm_erasure"})


class ErasureRequestForm(AppForm):
    """The participant's request for erasure; the CSRF token is its only field."""


class ConfirmErasureForm(AppForm):
    """Staff's confirmation of a request for erasure; the CSRF token is its only field."""


@bp.after_request
def _privacy_pages_are_not_cached(response):
    if (request.endpoint or "").split(".")[-1] in PRIVATE_ENDPOINTS:
        no_store(response)
    return response


def _retention():
    return core_privacy.retention_from_config(current_app.config, core_privacy.today())


# --- the participant ---------------------------------------------------------------------------


@bp.get("/manage/<token>/my-data.json")
def download_personal_data(token: str):
    """Everything held about the participant of this enrollment, as a JSON file."""
    enrollment = _enrollment_or_404(token)
    document = core_privacy.export_person(get_session(), enrollment.participant_id, utcnow())
    response = Response(json.dumps(document, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="kursportal-data-{enrollment.id}.json"')
    return response


@bp.route("/manage/<token>/erasure", methods=["GET", "POST"])
def ask_for_erasure(token: str):
    """What erasure means, and the button that asks the county governor for it."""
    session = get_session()
    enrollment = _enrollment_or_404(token)
    form = ErasureRequestForm()
    if form.validate_on_submit():
        privacy.request_erasure(session, enrollment, utcnow())
        session.commit()
        flash(_("Your request for erasure is sent. The county governor will confirm it."),
              "success")
        return redirect(url_for("enrollment.manage", token=token))
    if request.method == "POST":
        abort(400)
    holds = core_privacy.holds_for(session, enrollment.participant_id, _retention())
    return render_template("enrollment/erasure_request.html", enrollment=enrollment,
                           token=token, form=form, holds=holds,
                           pending=privacy.pending_request(session, enrollment.participant_id))


# --- staff -------------------------------------------------------------------------------------


@bp.get("/staff/privacy/erasure-requests")
@staff_required
def list_erasure_requests():
    """Pending requests for erasure in the user's county (all counties for administrators)."""
    requests = privacy.pending_requests(get_session(), county_scope(ErasureRequest.county_id))
    return render_template("enrollment/staff/erasure_requests.html", requests=requests)


def _participant_or_404(participant_id: int) -> Participant:
    return scoped_or_404(
        sa.select(Participant).join(Enrollment, Enrollment.participant_id == Participant.id)
        .join(CourseOffering, CourseOffering.id == Enrollment.offering_id)
        .where(Participant.id == participant_id).limit(1),
        CourseOffering.county_id,
    )


@bp.route("/staff/privacy/participants/<int:participant_id>/erasure", methods=["GET", "POST"])
@staff_required
def confirm_erasure(participant_id: int):
    """A participant's pending request, what erasure removes and what the law keeps; confirm."""
    session = get_session()
    person = _participant_or_404(participant_id)
    pending = privacy.pending_request(session, person.id)
    form = ConfirmErasureForm()
    if form.validate_on_submit():
        if pending is None:
            flash(_("There is no request for erasure to confirm."), "error")
            return redirect(url_for("enrollment.list_erasure_requests"))
        result = privacy.confirm_erasure(session, pending, actor=current_user, now=utcnow(),
                                         retention=_retention())
        session.commit()
        flash(_("The participant's details are erased, except what the law requires us to "
                "keep.") if result.holds else _("The participant's details are erased."),
              "success")
        return redirect(url_for("enrollment.list_erasure_requests"))
    if request.method == "POST":
        abort(400)
    holds = core_privacy.holds_for(session, person.id, _retention())
    enrollments = session.scalars(sa.select(Enrollment).where(
        Enrollment.participant_id == person.id).order_by(Enrollment.id)).all()
    return render_template("enrollment/staff/erasure_confirm.html", person=person,
                           pending=pending, holds=holds, form=form, enrollments=enrollments)
