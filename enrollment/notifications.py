"""E-mails to participants, rendered in their own language and queued in the outbox in the same
transaction as the change that causes them."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.mail import Attachment, queue_mail
from core.web import external_url, public_host
from enrollment.calendar import offering_ics
from enrollment.models import Enrollment, EnrollmentStatus


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
               locale=person.locale, attachments=attachments)


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
                   html=html, locale=locale)
