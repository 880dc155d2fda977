"""Staff forms for inviting roster people to an offering: the choice (people and offering,
read from the query string, so choosing writes nothing) and the confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired

from core.forms import AppForm


def _int_or_none(value):
    """An id from the form, None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def entry_ids(text: str | None) -> list[int]:
    """The entry ids of the confirmation's hidden field ("3,5,8"), the numbers only."""
    return [int(part) for part in (text or "").split(",") if part.strip().isdigit()]


class InvitationChoiceForm(AppForm):
    """The people chosen on the roster page (``entry``, or ``all`` shown by its filter) and the
    course to invite them to."""

    class Meta(AppForm.Meta):
        csrf = False

    entry = SelectMultipleField(_l("People"), coerce=_int_or_none, validate_choice=False)
    all = BooleanField(_l("Everybody shown by the filter"))
    offering = SelectField(_l("Course"), coerce=_int_or_none, validate_choice=False)


class InvitationConfirmForm(AppForm):
    """The invitations shown, confirmed: the course and the people, as the page listed them."""

    offering = HiddenField(validators=[InputRequired()])
    entries = HiddenField(validators=[InputRequired()])
