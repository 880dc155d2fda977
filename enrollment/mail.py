"""Every e-mail of the enrollment plugin: to participants about their enrollment (received,
promoted, cancelled, lost links, change of address), about staff decisions (approved, rejected,
cancelled by staff, moved) and about a course the office cancelled. Each is rendered in the
participant's own language and queued in the outbox in the same transaction as the change that
causes it."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import format_moment, format_short_day
from core.mail import Attachment, queue_mail
from core.mail_kinds import Rendered, record_mail, register_mail
from core.web import external_url, public_host
from enrollment.calendar import offering_ics
from enrollment.models import (
    EmailChange,
    Enrollment,
    EnrollmentStatus,
    PrivacyLink,
    PrivacyPurpose,
    about,
)
from enrollment.services.enrollments import active_enrollments_for_email, waitlist_position
from enrollment.services.links import issue_link
from enrollment.services.participants import Move


def _queue(session: Session, enrollment: Enrollment, template: str, subject: str, **context):
    person = enrollment.participant
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    context.update(enrollment=enrollment, offering=enrollment.offering, person=person,
                   locale=person.locale)
    text = render_template(f"enrollment/mail/{template}.txt", **context)
    html = render_template(f"enrollment/mail/{template}.html", **context)
    attachments = context.get("attachments", ())
    queue_mail(session, to=person.email, subject=subject, text=text, html=html,
               locale=person.locale, attachments=attachments, about=about(person))


def notify_enrolled(session: Session, enrollment: Enrollment, token: str,
                    position: int | None) -> None:
    """Tell the person their enrollment's outcome, with the .ics and their manage link."""
    offering = enrollment.offering
    with force_locale(enrollment.participant.locale):
        title = offering.title(enrollment.participant.locale)
        subjects = {
            EnrollmentStatus.CONFIRMED: _("Enrollment confirmed: %(title)s", title=title),
            EnrollmentStatus.WAITLISTED: _("You are on the waiting list: %(title)s", title=title),
            EnrollmentStatus.PENDING: _("Enrollment received, pending approval: %(title)s",
                                        title=title),
        }
        ics = offering_ics(offering, enrollment.participant.locale, public_host(),
                           external_url("enrollment.show_course",
                                        offering_id=offering.id))
        _queue(session, enrollment, "enrolled", subjects[enrollment.status],
               manage_url=external_url("enrollment.manage", token=token), position=position,
               attachments=[Attachment(f"course-{offering.id}.ics", "text/calendar", ics)])


def notify_promoted(session: Session, enrollment: Enrollment) -> None:
    """Tell a person from the waiting list that they now have a seat."""
    with force_locale(enrollment.participant.locale):
        title = enrollment.offering.title(enrollment.participant.locale)
        _queue(session, enrollment, "promoted",
               _("You now have a seat: %(title)s", title=title),
               course_url=external_url("enrollment.show_course",
                                       offering_id=enrollment.offering_id))


def notify_cancelled(session: Session, enrollment: Enrollment) -> None:
    """Confirm a cancellation to the person."""
    with force_locale(enrollment.participant.locale):
        title = enrollment.offering.title(enrollment.participant.locale)
        _queue(session, enrollment, "cancelled",
               _("Your enrollment is cancelled: %(title)s", title=title),
               course_url=external_url("enrollment.show_course",
                                       offering_id=enrollment.offering_id))


def notify_links(session: Session, email: str, links: list[tuple[Enrollment, str]]) -> None:
    """Send fresh manage links for every active enrollment of an address, in one e-mail."""
    first = links[0][0]
    locale = first.participant.locale
    with force_locale(locale):
        items = [(e, external_url("enrollment.manage", token=t)) for e, t in links]
        context = dict(items=items, locale=locale)
        text = render_template("enrollment/mail/links.txt", **context)
        html = render_template("enrollment/mail/links.html", **context)
        queue_mail(session, to=email, subject=_("Links to your enrollments"), text=text,
                   html=html, locale=locale, about=about(first.participant))


LOST_LINK_JOB = "enrollment.lost_link"


def send_lost_links(session: Session, payload: dict) -> None:
    """The lost-link job (``core.jobs``): a fresh manage link for each active enrollment of the
    address, in one mail; nothing when the address has none. The links already sent keep
    working, so asking cuts nobody off."""
    email = payload.get("email") or ""
    enrollments = [] if "\x00" in email else active_enrollments_for_email(session, email)
    if not enrollments:
        return
    now = utcnow()
    links = [(e, issue_link(session, e, now)) for e in enrollments]
    notify_links(session, enrollments[0].participant.email, links)


def send_already_enrolled(session: Session, enrollment_id: int) -> None:
    """Someone sent the form again for an existing enrollment: its holder gets a fresh link
    (beside those already sent) in a mail to the enrollment's own address."""
    enrollment = session.get(Enrollment, enrollment_id)
    notify_already_enrolled(session, enrollment, issue_link(session, enrollment, utcnow()))


def notify_already_enrolled(session: Session, enrollment: Enrollment, token: str) -> None:
    """Tell the holder of an enrollment that someone sent the form again with their address or
    HPR number: nothing changed, and here is a fresh link (with the enrollment's status)."""
    person = enrollment.participant
    with force_locale(person.locale):
        title = enrollment.offering.title(person.locale)
        _queue(session, enrollment, "already_enrolled",
               _("You are already enrolled: %(title)s", title=title),
               manage_url=external_url("enrollment.manage", token=token),
               position=waitlist_position(session, enrollment))


def notify_email_change(session: Session, change: EmailChange, confirm: str, cancel: str) -> None:
    """Ask the new address to confirm the change (its link), and tell the old address what is
    happening (with a link that stops it)."""
    enrollment, person = change.enrollment, change.participant
    context = dict(enrollment=enrollment, offering=enrollment.offering, person=person,
                   locale=person.locale, change=change, new_email=change.new_email,
                   old_email=person.email, expires=format_moment(change.expires_at, person.locale))
    with force_locale(person.locale):
        title = enrollment.offering.title(person.locale)
        for template, to, subject, token in (
            ("email_confirm", change.new_email,
             _("Confirm your new e-mail address: %(title)s", title=title), confirm),
            ("email_notice", person.email,
             _("Your e-mail address is being changed: %(title)s", title=title), cancel),
        ):
            url = external_url("enrollment.email_change_page", token=token)
            text = render_template(f"enrollment/mail/{template}.txt", url=url, **context)
            html = render_template(f"enrollment/mail/{template}.html", url=url, **context)
            queue_mail(session, to=to, subject=subject, text=text, html=html,
                       locale=person.locale, about=about(person))


# --- staff decisions on an enrollment ----------------------------------------------------------


def _queue_decision(session: Session, enrollment: Enrollment, template: str, subject: str,
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
        _queue_decision(session, enrollment, "approved", subject, position=position)


def notify_rejected(session: Session, enrollment: Enrollment) -> None:
    """Tell the person their enrollment was not approved, and why."""
    locale = enrollment.participant.locale
    with force_locale(locale):
        title = enrollment.offering.title(locale)
        _queue_decision(session, enrollment, "rejected",
                        _("Your enrollment was not approved: %(title)s", title=title))


def notify_cancelled_by_staff(session: Session, enrollment: Enrollment) -> None:
    """Tell the person the county governor cancelled their enrollment, with the reason given."""
    locale = enrollment.participant.locale
    with force_locale(locale):
        title = enrollment.offering.title(locale)
        _queue_decision(session, enrollment, "cancelled",
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
        _queue_decision(session, new, "moved",
                        _("Your enrollment has been moved: %(title)s", title=title),
                        attachments=[Attachment(f"course-{new.offering_id}.ics",
                                                "text/calendar", ics)],
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


# --- a course the office cancelled -------------------------------------------------------------


def notify_offering_cancelled(session: Session, enrollment: Enrollment, reason: str = "") -> None:
    """Queue the 'course cancelled' mail to the enrollment's participant, in their language."""
    person, offering = enrollment.participant, enrollment.offering
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    with force_locale(person.locale):
        context = dict(
            enrollment=enrollment, offering=offering, person=person, locale=person.locale,
            reason=reason, catalog_url=external_url("enrollment.show_catalog"),
        )
        text = render_template("enrollment/mail/offering_cancelled.txt", **context)
        html = render_template("enrollment/mail/offering_cancelled.html", **context)
        subject = _("Course cancelled: %(title)s", title=offering.title(person.locale))
        queue_mail(session, to=person.email, subject=subject, text=text, html=html,
                   locale=person.locale, about=about(person))


# --- privacy links (``services.privacy_links``): recorded, rendered after the commit -------------

PRIVACY_LINK = "enrollment.privacy_link"


def record_privacy_link(session: Session, link: PrivacyLink, token: str) -> None:
    """Record the mail with a privacy link to the address it is for; the token goes in the
    row's facts, like a fresh manage link (the export leaves it out)."""
    person = link.participant
    record_mail(session, PRIVACY_LINK, to=link.email, locale=person.locale, about=about(person),
                link_id=link.id, token=token)


def render_privacy_link(session: Session, params: dict) -> Rendered | None:
    """The mail with the link that delivers the person's data or files their erasure request;
    None when the link is gone (the person was erased meanwhile)."""
    link = session.get(PrivacyLink, params["link_id"])
    if link is None:
        return None
    person, offering = link.participant, link.enrollment.offering
    export = link.purpose == PrivacyPurpose.EXPORT
    office = offering.county.office(person.locale)
    context = dict(person=person, offering=offering, locale=person.locale, export=export,
                   url=external_url("enrollment.personal_data_link", token=params["token"]),
                   expires=format_moment(link.expires_at, person.locale))
    subject = (_("Download your data: %(office)s", office=office) if export
               else _("Confirm your request for erasure: %(office)s", office=office))
    return Rendered(subject=subject,
                    text=render_template("enrollment/mail/privacy_link.txt", **context),
                    html=render_template("enrollment/mail/privacy_link.html", **context))


def register_privacy_mail(app: Flask) -> None:
    """Let the recorded privacy-link mail be rendered."""
    register_mail(app, PRIVACY_LINK, render_privacy_link)
