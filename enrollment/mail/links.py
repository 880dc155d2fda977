"""The mails with links: fresh manage links for a lost one (a deferred job, run by the sender)
and the personal-data links (recorded, rendered after the commit)."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import format_moment
from core.mail import queue_mail
from core.mail_kinds import Rendered, record_mail
from core.web import external_url
from enrollment.models import Enrollment, PrivacyLink, PrivacyPurpose, about
from enrollment.services.links import active_enrollments_for_email, issue_link

# --- the lost-link job ---------------------------------------------------------------------------


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


RENDERERS = {PRIVACY_LINK: render_privacy_link}
