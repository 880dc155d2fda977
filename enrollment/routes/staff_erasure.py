"""Staff pages for participants' requests for erasure: the pending requests of the user's
county, and confirming one.

Objects are loaded through ``scoped_or_404``, so other counties' requests answer 404. The pages
are not cached (``routes.privacy.PRIVATE_ENDPOINTS``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import privacy as core_privacy
from core.auth import county_scope, scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.routes import Routes
from enrollment.forms.privacy import ConfirmErasureForm
from enrollment.models import CourseOffering, Enrollment, ErasureRequest, Participant
from enrollment.routes.privacy import retention
from enrollment.services import privacy

routes = Routes()


@routes.get("/staff/privacy/erasure-requests")
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


@routes.route("/staff/privacy/participants/<int:participant_id>/erasure", methods=["GET", "POST"])
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
                                         retention=retention())
        flash(_("The participant's details are erased, except what the law requires us to "
                "keep.") if result.holds else _("The participant's details are erased."),
              "success")
        return redirect(url_for("enrollment.list_erasure_requests"))
    if request.method == "POST":
        abort(400)
    holds = core_privacy.holds_for(session, person.id, retention())
    enrollments = session.scalars(sa.select(Enrollment).where(
        Enrollment.participant_id == person.id).order_by(Enrollment.id)).all()
    return render_template("enrollment/staff/erasure_confirm.html", person=person,
                           pending=pending, holds=holds, form=form, enrollments=enrollments)
