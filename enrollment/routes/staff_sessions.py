"""Staff pages for the sessions of an offering (course days, guidance meetings): add, move,
remove. Sessions are loaded through ``scoped_or_404``, so other counties' answer 404."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from core.auth import scoped_or_404, staff_required
from core.db import get_session
from core.routes import Routes
from core.transaction import refusals
from enrollment.forms.offerings import ActionForm, SessionForm, oslo_from_utc
from enrollment.models import CourseOffering, CourseSession
from enrollment.routes.staff_offerings import actor, edit_page, offering_or_404, render_form
from enrollment.services import offerings

routes = Routes()


def _session_or_404(session_id: int) -> CourseSession:
    return scoped_or_404(
        sa.select(CourseSession).join(CourseSession.offering)
        .where(CourseSession.id == session_id).options(contains_eager(CourseSession.offering)),
        CourseOffering.county_id,
    )


@routes.route("/staff/courses/<int:offering_id>/sessions/new", methods=["GET", "POST"])
@staff_required
def add_session(offering_id: int):
    """Add a course day or guidance meeting."""
    session = get_session()
    offering = offering_or_404(offering_id)
    form = SessionForm()
    if form.validate_on_submit():
        with refusals(form) as refusal:
            offerings.add_session(session, offering, *form.period(), form.place.data or "",
                                  actor())
        if not refusal:
            flash(_("The course day is added."), "success")
            return edit_page(offering_id)
    return render_form("enrollment/staff/session_form.html", form, offering=offering,
                   course_session=None)


@routes.route("/staff/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_session(session_id: int):
    """Move a session to another date, time or place."""
    session = get_session()
    course_session = _session_or_404(session_id)
    start, end = oslo_from_utc(course_session.starts_at), oslo_from_utc(course_session.ends_at)
    form = SessionForm(data={"day": start.date(), "starts": start.time(), "ends": end.time(),
                             "place": course_session.place})
    if form.validate_on_submit():
        with refusals(form) as refusal:
            offerings.move_session(session, course_session, *form.period(),
                                   form.place.data or "", actor())
        if not refusal:
            flash(_("The course day is changed."), "success")
            return edit_page(course_session.offering_id)
    return render_form("enrollment/staff/session_form.html", form,
                   offering=course_session.offering, course_session=course_session)


@routes.post("/staff/sessions/<int:session_id>/delete")
@staff_required
def delete_session(session_id: int):
    """Remove a session that has no attendance marked."""
    session = get_session()
    course_session = _session_or_404(session_id)
    offering_id = course_session.offering_id
    if not ActionForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # the message is shown at the top of the edit page
        offerings.remove_session(session, course_session, actor())
    if not refusal:
        flash(_("The course day is removed."), "success")
    return edit_page(offering_id)


