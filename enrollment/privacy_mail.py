"""The mail of a privacy link (``services.privacy_links``): rendered after the commit from the
recorded row (``core.mail_kinds``), in the participant's language."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.i18n import format_moment
from core.mail_kinds import Rendered, register_mail
from core.web import external_url
from enrollment.models import PrivacyLink, PrivacyPurpose
from enrollment.services.privacy_links import MAIL_KIND


def render_privacy_link(session: Session, params: dict) -> Rendered | None:
    """The mail with the link that delivers the person's data or files their erasure request;
    None when the link is gone (the person was erased meanwhile)."""
    link = session.get(PrivacyLink, params["link_id"])
    if link is None:
        return None
    person, offering = link.participant, link.enrollment.offering
    export = link.purpose == PrivacyPurpose.EXPORT
    context = dict(person=person, offering=offering, locale=person.locale, export=export,
                   url=external_url("enrollment.personal_data_link", token=params["token"]),
                   expires=format_moment(link.expires_at, person.locale))
    subject = (_("Download your data: %(office)s", office=offering.county.office(person.locale))
               if export else
               _("Confirm your request for erasure: %(office)s",
                 office=offering.county.office(person.locale)))
    return Rendered(subject=subject,
                    text=render_template("enrollment/mail/privacy_link.txt", **context),
                    html=render_template("enrollment/mail/privacy_link.html", **context))


def register(app: Flask) -> None:
    """Let the recorded privacy-link mail be rendered."""
    register_mail(app, MAIL_KIND, render_privacy_link)
