"""The mails of waiting-list offers (``enrollment.services.offers``): a seat offered, to accept
by a deadline from the manage link in the mail; the offer accepted; the offer run out."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.i18n import format_moment
from core.mail_kinds import Rendered
from core.web import external_url
from enrollment import events
from enrollment.mail import shared


def on_offered(_app, *, session, enrollment, token, **_data) -> None:
    """A freed seat is offered: the link to accept it and until when."""
    shared.record(session, "offered", enrollment, token=token,
                  expires_at=enrollment.offer_expires_at.isoformat())


def on_offer_accepted(_app, *, session, enrollment, **_data) -> None:
    """The seat is the person's."""
    shared.record(session, "offer_accepted", enrollment)


def on_offer_expired(_app, *, session, enrollment, **_data) -> None:
    """The offer ran out and the seat went on."""
    shared.record(session, "offer_expired", enrollment,
                  expires_at=enrollment.offer_expires_at.isoformat())


SUBSCRIBERS = [
    (events.offered, on_offered),
    (events.offer_accepted, on_offer_accepted),
    (events.offer_expired, on_offer_expired),
]


def render_offered(session: Session, params: dict) -> Rendered | None:
    """``enrollment.offered``: accept by the deadline, from the link."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    locale = enrollment.participant.locale
    return shared.render(
        "offered", _("A seat is offered to you: %(title)s", title=shared.title(enrollment)),
        enrollment, manage_url=external_url("enrollment.manage", token=params["token"]),
        expires=format_moment(datetime.fromisoformat(params["expires_at"]), locale))


def render_offer_accepted(session: Session, params: dict) -> Rendered | None:
    """``enrollment.offer_accepted``: confirmed, with the course days."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    return shared.render(
        "offer_accepted", _("Enrollment confirmed: %(title)s", title=shared.title(enrollment)),
        enrollment, [shared.ics(enrollment.offering, enrollment.participant.locale)],
        course_url=shared.course_url(enrollment))


def render_offer_expired(session: Session, params: dict) -> Rendered | None:
    """``enrollment.offer_expired``: the seat went to the next person."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    locale = enrollment.participant.locale
    return shared.render(
        "offer_expired", _("The seat offer has expired: %(title)s",
                           title=shared.title(enrollment)),
        enrollment, course_url=shared.course_url(enrollment),
        expires=format_moment(datetime.fromisoformat(params["expires_at"]), locale))


RENDERERS = {
    "enrollment.offered": render_offered,
    "enrollment.offer_accepted": render_offer_accepted,
    "enrollment.offer_expired": render_offer_expired,
}
