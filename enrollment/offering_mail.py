"""The e-mail telling a participant that the county office has cancelled the whole course."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.mail import queue_mail
from core.web import external_url
from enrollment.models import Enrollment, about


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
