"""Staff forms for the participants of an offering: confirm, reject, cancel on someone's
behalf, move, add by hand, and search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from core.forms import AppForm
from enrollment.forms import no_control_characters, strip
from enrollment.forms.public import EnrollmentForm
from enrollment.services import participants


class ConfirmForm(AppForm):
    """A button; the CSRF token is its only field."""


class RejectForm(AppForm):
    """Why an enrollment is rejected; the participant reads it."""

    reason = TextAreaField(
        _l("Reason (sent to the participant)"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Write why the enrollment is rejected.")),
            Length(max=2000, message=_l("At most 2,000 characters.")),
            no_control_characters,
        ],
    )


class StaffCancelForm(AppForm):
    """Cancel on the participant's behalf, optionally saying why."""

    reason = TextAreaField(
        _l("Message to the participant (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=2000, message=_l("At most 2,000 characters.")),
                    no_control_characters],
    )


def _int_or_none(value):
    """An offering id from the form, None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class MoveForm(AppForm):
    """The offering to move an enrollment to (one of ``participants.move_targets``)."""

    target = SelectField(
        _l("Move to course"), coerce=_int_or_none, validate_choice=False,
        validators=[InputRequired(message=_l("Choose a course to move to."))],
    )

    def validate_target(self, field):
        """Only a listed course: same kind, same county."""
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose one of the listed courses."))


class AddParticipantForm(EnrollmentForm):
    """The enrollment form as staff fill it in for someone; no consent box, start month
    optional."""

    consent = None

    def validate_start_month(self, field):
        """A start month, when given, must be one offered."""
        known = {code for code, _label in self.start_month.choices if code}
        if field.data and field.data not in known:
            raise ValidationError(_l("Choose a month from the list."))


class SearchForm(AppForm):
    """Find participants by name, e-mail or HPR number (read from the query string)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name, e-mail or HPR number"),
        filters=[strip],
        validators=[
            Optional(),
            Length(min=participants.SEARCH_MIN_LENGTH, max=200,
                   message=_l("Enter between 2 and 200 characters.")),
            no_control_characters,
        ],
    )
