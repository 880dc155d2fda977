"""The mails to roster people (``enrollment.services.invitations``): the invitation staff send
to an offering, with a link to its form pre-filled (``enrollment.invitation_tokens``), and the
deadline reminder sent by ``flask reminders send`` to those still not enrolled two weeks before
the deadline. Both in the county's language (a roster entry has none of its own); neither is
written once the person has enrolled in the course kind or the entry is gone."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload

from core.i18n import format_moment
from core.mail_kinds import Rendered, record_mail
from core.reminders import ReminderKind
from core.web import external_url
from enrollment import events
from enrollment.invitation_tokens import make_token
from enrollment.mail import shared
from enrollment.models import CourseOffering, Roster, RosterEntry
from enrollment.services.invitations import (
    DEADLINE_REMINDER,
    INVITATION,
    due_deadline_reminders,
    enrolled_in_kind,
    still_due,
)


def _record(session: Session, kind: str, entry: RosterEntry, offering_id: int) -> None:
    record_mail(session, kind, to=entry.email, locale=entry.roster.county.default_locale,
                about=("roster_entry", entry.id), entry_id=entry.id, offering_id=offering_id)


def on_roster_invited(_app, *, session, offering, plan, **_data) -> None:
    """One invitation to each person staff invited (claimed once by the service)."""
    for entry in plan.invite:
        _record(session, INVITATION, entry, offering.id)


def record_deadline_reminder(session: Session, entry_id: int, key: str, now: datetime) -> bool:
    """Record the deadline reminder to one roster person if still due (``flask reminders
    send``'s ``record``); False when not."""
    found = still_due(session, entry_id, key, now)
    if found is None:
        return False
    entry, offering = found
    _record(session, DEADLINE_REMINDER, entry, offering.id)
    return True


def _load(session: Session, params: dict) -> tuple[RosterEntry, CourseOffering] | None:
    entry = session.get(RosterEntry, params["entry_id"],
                        options=[joinedload(RosterEntry.roster).joinedload(Roster.county)])
    offering = session.get(CourseOffering, params["offering_id"], options=[
        joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
        selectinload(CourseOffering.sessions)])
    if entry is None or offering is None or not entry.email:
        return None
    if enrolled_in_kind(session, [entry], {offering.kind_id}):
        return None  # enrolled meanwhile: nothing to invite to
    return entry, offering


def _render(template: str, subject: str, entry: RosterEntry, offering: CourseOffering,
            **context) -> Rendered:
    locale = entry.roster.county.default_locale
    context.update(entry=entry, offering=offering, locale=locale,
                   deadline=format_moment(offering.enroll_closes_at, locale),
                   course_url=external_url("enrollment.show_course", offering_id=offering.id))
    return Rendered(subject, render_template(f"enrollment/mail/{template}.txt", **context),
                    render_template(f"enrollment/mail/{template}.html", **context),
                    [shared.ics(offering, locale)])


def render_invitation(session: Session, params: dict) -> Rendered | None:
    """``enrollment.invitation``: the course, its deadline and the pre-filled form's link."""
    found = _load(session, params)
    if found is None:
        return None
    entry, offering = found
    locale = entry.roster.county.default_locale
    return _render("invitation", _("Invitation: %(title)s", title=offering.title(locale)),
                   entry, offering,
                   enroll_url=external_url("enrollment.enroll", offering_id=offering.id,
                                           invitation=make_token(entry, offering.id)))


def render_deadline_reminder(session: Session, params: dict) -> Rendered | None:
    """``enrollment.deadline_reminder``: enrollment closes soon, with the course's link."""
    found = _load(session, params)
    if found is None:
        return None
    entry, offering = found
    locale = entry.roster.county.default_locale
    return _render("deadline_reminder",
                   _("Enrollment closes soon: %(title)s", title=offering.title(locale)),
                   entry, offering)


SUBSCRIBERS = [(events.roster_invited, on_roster_invited)]

REMINDERS = [ReminderKind(DEADLINE_REMINDER, due_deadline_reminders, record_deadline_reminder)]

RENDERERS = {INVITATION: render_invitation, DEADLINE_REMINDER: render_deadline_reminder}
