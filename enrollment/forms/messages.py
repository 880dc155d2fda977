"""Staff's form for a message to an offering's participants: written, checked (with the number
of recipients), then sent."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from core.auth import has_control_characters
from core.forms import AppForm
from enrollment.forms import strip
from enrollment.models import MessageAudience
from enrollment.services.messages import BODY_MAX, SUBJECT_MAX

# The steps the form's buttons name: check what would be sent, change it, send it.
PREVIEW, EDIT, SEND = "preview", "edit", "send"


def _plain_text(form, field):
    """No control characters; the body may hold line breaks and tabs (the subject is one
    line)."""
    extra = "\r\n\t" if field.type == "TextAreaField" else ""
    if field.data and has_control_characters("".join(ch for ch in field.data if ch not in extra)):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


def _count_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class MessageForm(AppForm):
    """The audience, subject and text; ``expected`` is the number of recipients shown when it
    was checked. The buttons name the step (``step``: ``PREVIEW``, ``EDIT`` or ``SEND``)."""

    audience = RadioField(
        _l("To"), choices=[(a.value, a.title) for a in MessageAudience],
        default=MessageAudience.ALL.value,
        validators=[InputRequired(message=_l("Choose who gets the message."))])
    subject = StringField(
        _l("Subject"), filters=[strip],
        validators=[DataRequired(message=_l("Write a subject.")),
                    Length(max=SUBJECT_MAX, message=_l("At most %(max)d characters.")),
                    _plain_text])
    body = TextAreaField(
        _l("Message"), filters=[strip],
        validators=[DataRequired(message=_l("Write the message.")),
                    Length(max=BODY_MAX, message=_l("At most %(max)d characters.")),
                    _plain_text])
    expected = HiddenField(filters=[_count_or_none], validators=[Optional()])
