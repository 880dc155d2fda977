"""The course reminder: to each confirmed participant, the offering's ``reminder_days`` before
the first session, with the days, the place, a fresh manage link, the calendar file and, for a
digital course, the meeting link (only ever sent to confirmed participants). Sent once per
person and course date by ``flask reminders send`` (``core.reminders``): ``REMINDERS`` is
enrollment's entry in its registry, ``record_course_reminder`` its ``record``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.i18n import format_short_day
from core.mail_kinds import Rendered
from core.reminders import ReminderKind
from core.web import external_url
from enrollment.mail import shared
from enrollment.models import EnrollmentStatus
from enrollment.services.links import issue_link
from enrollment.services.reminders import (
    COURSE_REMINDER,
    due_course_reminders,
    event_key,
    reminder_due,
)


def record_course_reminder(session: Session, enrollment_id: int, key: str,
                           now: datetime) -> bool:
    """Record the reminder for one enrollment if it is still due (confirmed, the course's
    first day still the one of ``key``); False when it is not."""
    enrollment = shared.load(session, enrollment_id)
    if enrollment is None or enrollment.status != EnrollmentStatus.CONFIRMED:
        return False
    offering = enrollment.offering
    if not offering.sessions:
        return False
    start = offering.sessions[0].starts_at
    if event_key(start) != key or not reminder_due(offering, start, now):
        return False
    shared.record(session, "course_reminder", enrollment, token=issue_link(session, enrollment,
                                                                           now))
    return True


def render_course_reminder(session: Session, params: dict) -> Rendered | None:
    """``enrollment.course_reminder``: the practical details; nothing once the person no
    longer holds a seat."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None or enrollment.status != EnrollmentStatus.CONFIRMED:
        return None
    offering, locale = enrollment.offering, enrollment.participant.locale
    if not offering.sessions:
        return None
    return shared.render(
        "course_reminder",
        _("Reminder: %(title)s starts %(day)s", title=shared.title(enrollment),
          day=format_short_day(offering.sessions[0].starts_at, locale)),
        enrollment, [shared.ics(offering, locale, meeting_url=offering.meeting_url)],
        manage_url=external_url("enrollment.manage", token=params["token"]),
        meeting_url=offering.meeting_url)


REMINDERS = [ReminderKind(COURSE_REMINDER, due_course_reminders, record_course_reminder)]

RENDERERS = {COURSE_REMINDER: render_course_reminder}
