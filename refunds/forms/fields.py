"""The values people type into the refunds forms: amounts in kroner the way people write them
(``1 653,60``, ``1653.60``, ``kr 45``), which become integer øre through ``Decimal``;
kilometres with at most one decimal (``312,5``); dates; and the text field the forms share.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from enrollment.forms import no_control_characters, strip

MAX_KRONER_DIGITS = 9

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_CURRENCY = re.compile(r"^(?:kr\.?|nok)|(?:kr\.?|nok|,-|\.-)$")



def parse_kroner(text: str) -> int:
    """An amount in kroner as typed (``1 653,60``, ``1.653,60``, ``1653.60``, ``kr 45``), in
    øre. Raises ``ValueError`` for anything else, including a lone dot before three digits
    (``12.500``), which could be either twelve and a half or twelve thousand five hundred."""
    compact = _CURRENCY.sub("", _SPACES.sub("", text or "").lower())
    if "," in compact and "." in compact:
        decimal_sign = "," if compact.rfind(",") > compact.rfind(".") else "."
        compact = compact.replace("." if decimal_sign == "," else ",", "")
    elif "," in compact:
        decimal_sign = ","
    elif compact.count(".") == 1 and len(compact.partition(".")[2]) <= 2:
        decimal_sign = "."
    elif "." in compact:
        raise ValueError("ambiguous dot")
    else:
        decimal_sign = ","
    whole, _sign, decimals = compact.partition(decimal_sign)
    if decimal_sign in decimals:
        raise ValueError("two decimal signs")
    if not (whole or decimals) or not (whole + decimals).isascii():
        raise ValueError("no amount")
    if (whole and not whole.isdigit()) or (decimals and not decimals.isdigit()):
        raise ValueError("not digits")
    if len(decimals) > 2 or len(whole) > MAX_KRONER_DIGITS:
        raise ValueError("out of range")
    return int(Decimal(f"{whole or 0}.{decimals or 0}") * 100)


def kroner_text(ore: int | None, locale: str) -> str:
    """Øre as a form value in kroner, with the locale's decimal sign: ``1653,60``."""
    if ore is None:
        return ""
    sign = "." if locale == "en" else ","
    return f"{ore // 100}{sign}{ore % 100:02d}"


def parse_km(text: str) -> Decimal:
    """Kilometres as typed (``312``, ``312,5``); ``ValueError`` when it is not a number."""
    compact = _SPACES.sub("", text or "").replace(",", ".")
    if not compact or not compact.isascii() or len(compact) > 10:
        raise ValueError("no number")
    try:
        value = Decimal(compact)
    except InvalidOperation as exc:
        raise ValueError("no number") from exc
    if not value.is_finite():
        raise ValueError("no number")
    return value


def km_text(km: Decimal | None, locale: str) -> str:
    """Kilometres as a form value: ``312`` or ``312,5``."""
    if km is None:
        return ""
    text = format(Decimal(km).normalize(), "f")
    return text if locale == "en" else text.replace(".", ",")


def parse_date(field) -> date:
    try:
        return date.fromisoformat(field.data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_l("Enter a valid date, like 2026-03-05.")) from exc


def text_field(label, max_length: int = 200, **kwargs) -> StringField:
    return StringField(
        label, filters=[strip],
        validators=[Optional(),
                    Length(max=max_length, message=_l("At most %(max)d characters.")),
                    no_control_characters],
        **kwargs,
    )
