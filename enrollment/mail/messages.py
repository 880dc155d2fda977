"""The mail of a message from staff to an offering's participants: one recorded mail per
recipient, in the recipient's own language. The text is what staff wrote, in one language;
the frame around it (greeting, course, office, link to the manage page) is translated."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.mail_kinds import Rendered
from core.web import external_url
from enrollment import events
from enrollment.mail import shared
from enrollment.models import MessageDelivery, OfferingMessage

MESSAGE = "message"


def on_message_sent(_app, *, session, message, deliveries, **_data) -> None:
    """One mail per recipient, with a fresh link to their manage page."""
    for enrollment, token in deliveries:
        shared.record(session, MESSAGE, enrollment, message_id=message.id, token=token)


SUBSCRIBERS = [(events.message_sent, on_message_sent)]


def render_message(session: Session, params: dict) -> Rendered | None:
    """``enrollment.message``: the message as written, framed in the person's language; None
    when the person, the message or its delivery to them is gone (erased meanwhile)."""
    enrollment = shared.load(session, params["enrollment_id"])
    message = session.get(OfferingMessage, params["message_id"])
    if enrollment is None or message is None or session.scalar(
            sa.select(MessageDelivery.id).where(MessageDelivery.message_id == message.id,
                                                MessageDelivery.enrollment_id == enrollment.id)
    ) is None:
        return None
    return shared.render(MESSAGE, _("%(subject)s (%(title)s)", subject=message.subject,
                                    title=shared.title(enrollment)),
                         enrollment, message=message,
                         manage_url=external_url("enrollment.manage", token=params["token"]))


RENDERERS = {f"enrollment.{MESSAGE}": render_message}
