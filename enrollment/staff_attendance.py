"""Staff pages for attendance: marking a course day, its sign-in sheet, and the dashboard.

Every object is loaded through ``scoped_or_404`` or limited by ``county_scope``: county staff
see their own county's course days, administrators all.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import contains_eager
from wtforms import SelectMultipleField, SubmitField

from core.auth import county_scope, scoped_or_404, staff_required, visible_counties
from core.db import get_session, utcnow
from core.forms import AppForm
from core.i18n import current_locale, format_clock, format_day, format_moment
from core.web import no_store
from enrollment import attendance, dashboard
from enrollment.models import CourseOffering, CourseSession
from enrollment.signin_sheet import SignInLabels, SignInRow, SignInSheet, build_sign_in_sheet
from enrollment.views import bp


class AttendanceForm(AppForm):
    """The ticked participants of a course day and which button was pressed."""

    # Ids not on the roster are ignored by the service, so a stale form does not fail.
    present = SelectMultipleField(coerce=int, validate_choice=False)
    save = SubmitField(_l("Save attendance"))
    mark_all = SubmitField(_l("Tick everyone"))
    mark_none = SubmitField(_l("Untick everyone"))


def _course_session_or_404(session_id: int) -> CourseSession:
    """The course day with its offering, county and kind, if the user's county owns it."""
    return scoped_or_404(
        sa.select(CourseSession)
        .join(CourseSession.offering)
        .where(CourseSession.id == session_id)
        .options(contains_eager(CourseSession.offering).joinedload(CourseOffering.county),
                 contains_eager(CourseSession.offering).joinedload(CourseOffering.kind),
                 contains_eager(CourseSession.offering).selectinload(CourseOffering.sessions)),
        CourseOffering.county_id,
    )


def _when(course_session: CourseSession, locale: str | None = None) -> str:
    """'tysdag 3. mars 2026, 09:00–15:00' in Oslo time."""
    return (f"{format_day(course_session.starts_at, locale)}, "
            f"{format_clock(course_session.starts_at, locale)}–"
            f"{format_clock(course_session.ends_at, locale)}")


def _private(body, status: int = 200):
    return no_store(make_response(body, status))


@bp.route("/staff/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@staff_required
def mark_attendance(session_id: int):
    """Tick who was present; 'tick/untick everyone' only fill in the form, Save stores it."""
    db = get_session()
    course_session = _course_session_or_404(session_id)
    entries = attendance.roster(db, course_session)
    form = AttendanceForm()
    checked = {e.enrollment.id for e in entries if e.present}
    unsaved = False
    if form.validate_on_submit():
        if not (form.mark_all.data or form.mark_none.data):
            saved = attendance.save_attendance(db, course_session, form.present.data or [],
                                               current_user._get_current_object())
            db.commit()
            flash(_("Attendance saved: %(present)s of %(total)s present.",
                    present=saved.present, total=len(saved.after)), "success")
            return redirect(url_for("enrollment.mark_attendance", session_id=session_id))
        checked = {e.enrollment.id for e in entries} if form.mark_all.data else set()
        unsaved = True
    status = 400 if form.errors or (request.method == "POST" and not unsaved) else 200
    return _private(render_template(
        "enrollment/staff/attendance.html", course_session=course_session, entries=entries,
        form=form, checked=checked, unsaved=unsaved), status)


@bp.get("/staff/sessions/<int:session_id>/sign-in.pdf")
@staff_required
def download_sign_in_sheet(session_id: int):
    """The course day's sign-in sheet as a PDF, in the staff member's language."""
    course_session = _course_session_or_404(session_id)
    offering, locale = course_session.offering, current_locale()
    sheet = SignInSheet(
        office=offering.county.office(locale), course_title=offering.title(locale),
        when=_when(course_session, locale), place=course_session.place or offering.venue,
        labels=SignInLabels(
            heading=_("Sign-in sheet"), name=_("Name"), employer=_("Employer"),
            signature=_("Signature"), page=_("Page %(current)s of %(total)s"),
            printed=_("Printed %(when)s", when=format_moment(utcnow(), locale)),
        ),
        rows=tuple(SignInRow(e.participant.full_name, e.participant.employer)
                   for e in attendance.roster(get_session(), course_session)),
        lang=locale,
    )
    response = _private(build_sign_in_sheet(sheet))
    response.mimetype = "application/pdf"
    day = course_session.starts_at.strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = (
        f'inline; filename="sign-in-{day}-{course_session.id}.pdf"')
    return response


def _chart_labels(stats: list[dashboard.OfferingStats], with_county: bool) -> list[str]:
    return [f"{s.offering.title()} – {s.offering.county.name()}" if with_county
            else s.offering.title() for s in stats]


@bp.get("/staff/")
@staff_required
def show_dashboard():
    """Seats, waiting lists and attendance of the current and next cohort's offerings."""
    db = get_session()
    scope = county_scope(CourseOffering.county_id)
    counties = visible_counties(db) if current_user.is_admin else []
    county = None
    if request.args.get("county"):
        county = next((c for c in counties if c.slug == request.args["county"]), None)
        if county is None:
            abort(404)
        scope = sa.and_(scope, CourseOffering.county_id == county.id)
    now: datetime = utcnow()
    board = dashboard.dashboard(db, scope, now)
    labels = _chart_labels(board.offerings, current_user.is_admin and county is None)
    return _private(render_template(
        "enrollment/staff/dashboard.html", board=board, counties=counties, county=county,
        labels=labels, seats_chart=dashboard.seats_chart(board.offerings, labels),
        attendance_chart=dashboard.attendance_chart(board.offerings, labels),
        percent=dashboard.percent, now=now))
