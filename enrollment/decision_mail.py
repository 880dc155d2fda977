"""E-mails about staff decisions on an enrollment: approved, rejected, cancelled by staff,
moved. Each is rendered in the participant's own language and queued in the outbox in the
transaction of the decision. People promoted from a waiting list get the usual
``notifications.notify_promoted`` mail."""

from __future__ import annotations

from collections.abc import Iterable

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.i18n import format_short_day
from core.mail import Attachment, queue_mail
from core.web import external_url, public_host
from enrollment.calendar import offering_ics
from enrollment.models import Enrollment, about
from enrollment.notifications import notify_promoted
from enrollment.participants import Move

__all__ = ["notify_approved", "notify_cancelled_by_staff", "notify_moved", "notify_promoted",
           "notify_promoted_all", "notify_rejected"]


def _queue(session: Session, enrollment: Enrollment, template: str, subject: str,
           attachments: Iterable[Attachment] = (), **context) -> None:
    """Render ``decision_<template>`` and queue it; call inside ``force_locale``."""
    person = enrollment.participant
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    context.update(enrollment=enrollment, offering=enrollment.offering, person=person,
                   locale=person.locale,
                   course_url=external_url("enrollment.show_course",
                                           offering_id=enrollment.offering_id))
    text = render_template(f"enrollment/mail/decision_{template}.txt", **context)
    html = render_template(f"enrollment/mail/decision_{template}.html", **context)
    queue_mail(session, to=person.email, subject=subject, text=text, html=html,
               locale=person.locale, attachments=attachments, about=about(person))


def notify_approved(session: Session, enrollment: Enrollment, position: int | None) -> None:
    """Tell the person their enrollment was approved: a seat, or a place on the waiting list."""
    locale = enrollment.participant.locale
    with force_locale(locale):
        title = enrollment.offering.title(locale)
        if position is None:
            subject = _("Enrollment confirmed: %(title)s", title=title)
        else:
            subject = _("You are on the waiting list: %(title)s", title=title)
        _queue(session, enrollment, "approved", subject, position=position)


def notify_rejected(session: Session, enrollment: Enrollment) -> None:
    """Tell the person their enrollment was not approved, and why."""
    locale = enrollment.participant.locale
    with force_locale(locale):
        title = enrollment.offering.title(locale)
        _queue(session, enrollment, "rejected",
               _("Your enrollment was not approved: %(title)s", title=title))


def notify_cancelled_by_staff(session: Session, enrollment: Enrollment) -> None:
    """Tell the person the county governor cancelled their enrollment, with the reason given."""
    locale = enrollment.participant.locale
    with force_locale(locale):
        title = enrollment.offering.title(locale)
        _queue(session, enrollment, "cancelled",
               _("Your enrollment is cancelled: %(title)s", title=title))


def notify_moved(session: Session, move: Move) -> None:
    """Tell the person which course they were moved to, with its days as a calendar file."""
    new = move.new
    locale = new.participant.locale
    with force_locale(locale):
        title = new.offering.title(locale)
        ics = offering_ics(new.offering, locale, public_host(),
                           external_url("enrollment.show_course",
                                        offering_id=new.offering.id))
        _queue(session, new, "moved", _("Your enrollment has been moved: %(title)s", title=title),
               attachments=[Attachment(f"course-{new.offering_id}.ics", "text/calendar", ics)],
               old_course=_course_label(move.old.offering, locale),
               position=move.waitlist_position)


def _course_label(offering, locale: str) -> str:
    """An offering's title with its first day, since two offerings often share a title."""
    title = offering.title(locale)
    if not offering.sessions:
        return title
    return f"{title}, {format_short_day(offering.sessions[0].starts_at, locale)}"


def notify_promoted_all(session: Session, promoted: Iterable[Enrollment]) -> None:
    """Tell each person promoted from the waiting list that they now have a seat."""
    for enrollment in promoted:
        notify_promoted(session, enrollment)
