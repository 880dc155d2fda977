"""Staff pages for attendance: marking a course day, and its sign-in sheet.

Every object is loaded through ``scoped_or_404``: county staff see their own county's course
days, administrators all.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import contains_eager

from core.auth import scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.i18n import current_locale, format_clock, format_day, format_moment
from core.routes import Routes
from core.web import no_store
from enrollment import errors
from enrollment.forms.attendance import AttendanceForm
from enrollment.models import CourseOffering, CourseSession
from enrollment.services import attendance
from enrollment.signin_sheet import SignInLabels, SignInRow, SignInSheet, build_sign_in_sheet

routes = Routes()


def _posted_marks(entries: list[attendance.RosterEntry],
                  ) -> tuple[dict[int, attendance.Mark], list[attendance.RosterEntry]]:
    """The mark chosen for each person on the roster, from the form; people the form does not
    mention are left out (their mark stays). Second, the people whose value is not a mark."""
    chosen, wrong = {}, []
    for entry in entries:
        value = request.form.get(f"mark-{entry.enrollment.id}")
        if value is None:
            continue
        if value not in {m.value for m in attendance.Mark}:
            wrong.append(entry)
        else:
            chosen[entry.enrollment.id] = attendance.Mark(value)
    return chosen, wrong


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


@routes.route("/staff/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@staff_required
def mark_attendance(session_id: int):
    """Mark each person present, absent or not recorded, once the course day has begun;
    'everyone present/absent' only fill in the form, Save stores it."""
    db = get_session()
    course_session = _course_session_or_404(session_id)
    entries = attendance.roster(db, course_session)
    form = AttendanceForm()
    chosen = {e.enrollment.id: e.mark for e in entries}
    unsaved = refused = False
    wrong_marks: dict[int, str] = {}
    status = 200
    is_open = attendance.is_open(course_session, utcnow())
    if form.validate_on_submit():
        posted, wrong = _posted_marks(entries)
        if wrong:
            chosen.update(posted)
            form.form_errors.append(_("Please check what you entered and try again."))
            wrong_marks = {e.enrollment.id: _("%(name)s: choose present, absent or not recorded.",
                                              name=e.participant.full_name) for e in wrong}
            form.control_errors = [(f"mark-{eid}-present", message)
                                   for eid, message in wrong_marks.items()]
        elif (form.mark_all.data or form.mark_none.data) and not is_open:
            refused, status = True, 409
        elif form.mark_all.data or form.mark_none.data:
            everyone = attendance.Mark.PRESENT if form.mark_all.data else attendance.Mark.ABSENT
            chosen, unsaved = dict.fromkeys(chosen, everyone), True
        else:
            chosen.update(posted)
            try:
                saved = attendance.save_attendance(db, course_session, posted,
                                                   current_user._get_current_object())
            except errors.AttendanceNotOpen:  # a 409: the request's edge keeps nothing
                refused, status = True, 409
            else:
                flash(_("Attendance saved: %(present)s present, %(absent)s absent, "
                        "%(unmarked)s not recorded.", present=saved.present,
                        absent=saved.absent, unmarked=saved.not_recorded), "success")
                return redirect(url_for("enrollment.mark_attendance", session_id=session_id))
    if request.method == "POST" and status == 200 and not unsaved:
        status = 400
    opens = None if is_open else errors.AttendanceNotOpen(course_session.starts_at).opens
    return _private(render_template(
        "enrollment/staff/attendance.html", course_session=course_session, entries=entries,
        form=form, chosen=chosen, unsaved=unsaved,
        wrong=wrong_marks, refused=refused, is_open=is_open, opens=opens), status)


@routes.get("/staff/sessions/<int:session_id>/sign-in.pdf")
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
