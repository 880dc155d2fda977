"""The enrollment plugin's forms, by subject: ``public`` (catalog filter, enrollment, the
participant's manage pages), ``offerings`` (staff: offerings, sessions, learning objectives),
``participants`` (staff decisions, moves, search), ``attendance`` and ``privacy``.

This module holds the filters and validators every form of the plugin (and of the plugins built
on it) shares.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange, ValidationError


def no_control_characters(form, field):
    """Refuse control characters (line breaks are allowed in free text only)."""
    allowed = "\n\r\t" if field.type == "TextAreaField" else ""
    if field.data and any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in allowed for ch in field.data
    ):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


class IntegerRange(NumberRange):
    """``NumberRange`` for whole numbers that also refuses numbers too large for a float.

    WTForms calls ``math.isnan`` on the value, which raises OverflowError for an integer of
    more than 308 digits: a 500 where a person typed a long number (found by the fuzz tests).
    """

    def __call__(self, form, field):  # noqa: D102
        if isinstance(field.data, int) and abs(field.data) > 2**53:
            raise ValidationError(self.message)
        super().__call__(form, field)


def strip(value):
    """Trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def digits_only(value):
    """Drop spaces from numbers typed in groups ('123 4567')."""
    return value.replace(" ", "").strip() if isinstance(value, str) else value
