"""Languages: which locale a request uses, and formatting of dates, times, numbers and money.

Nynorsk, Bokmål and English; the person's choice is a cookie, else Accept-Language, else the
configured default. Dates are stored in UTC and shown in Europe/Oslo.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale

LOCALES = ("nn", "nb", "en")
LOCALE_COOKIE = "kp_lang"
OSLO = ZoneInfo("Europe/Oslo")

# English dates read the British way ("Tuesday 3 March 2026"); the catalog is still "en".
_FORMAT_LOCALE = {"nn": "nn", "nb": "nb", "en": "en_GB"}
# CLDR's en_GB writes "NOK1,234.50"; European English writes "1,234.50 NOK", easier to read.
_MONEY_LOCALE = {"nn": "nn", "nb": "nb", "en": "en_150"}

babel = Babel()


def select_locale() -> str:
    """Pick the request's locale: cookie, then Accept-Language, then ``DEFAULT_LOCALE``."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    # "no" is the macro-language; browsers set it for Bokmål.
    best = request.accept_languages.best_match([*LOCALES, "no"])
    if best == "no":
        return "nb"
    if best:
        return best
    return current_app.config["DEFAULT_LOCALE"]


def current_locale() -> str:
    """The active locale code (``nn``, ``nb`` or ``en``)."""
    loc = get_locale()
    code = str(loc) if loc is not None else current_app.config["DEFAULT_LOCALE"]
    return code if code in LOCALES else current_app.config["DEFAULT_LOCALE"]


def _fmt_locale(locale: str | None) -> str:
    return _FORMAT_LOCALE[locale or current_locale()]


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to Europe/Oslo time."""
    return value.astimezone(OSLO)


def format_day(value: date | datetime, locale: str | None = None) -> str:
    """'tysdag 3. mars 2026' / 'tirsdag 3. mars 2026' / 'Tuesday 3 March 2026'."""
    if isinstance(value, datetime):
        value = to_local(value).date()
    loc = _fmt_locale(locale)
    pattern = "EEEE d MMMM y" if loc == "en_GB" else "full"
    return babel_dates.format_date(value, pattern, locale=loc)


def format_short_day(value: date | datetime, locale: str | None = None) -> str:
    """A compact date: '3. mars 2026' / '3 March 2026'."""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return babel_dates.format_date(value, "long", locale=_fmt_locale(locale))


def format_short_month(value: date, locale: str | None = None) -> str:
    """A month and year: 'mars 2026' / 'March 2026'."""
    return babel_dates.format_date(value, "LLLL y", locale=_fmt_locale(locale))


def format_clock(value: datetime, locale: str | None = None) -> str:
    """The Oslo wall-clock time of ``value``: '09:30'."""
    return babel_dates.format_time(to_local(value), "short", locale=_fmt_locale(locale))


def format_moment(value: datetime, locale: str | None = None) -> str:
    """Date and time in Oslo, '3. mars 2026, 09:30', joined by the locale's own CLDR pattern."""
    code = _fmt_locale(locale)
    loc = _babel_locale(code)
    local = to_local(value)
    clock = babel_dates.format_time(local.time(), "short", locale=loc)
    return _moment_joiner(code).format(clock, _long_date(local.date(), code))


# Staff lists show a moment on every row, and many rows share a day: the day is formatted once
# per day and locale, and the locale's data is looked up once.
@functools.lru_cache(maxsize=8)
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


@functools.lru_cache(maxsize=8)
def _moment_joiner(code: str) -> str:
    return str(_babel_locale(code).datetime_formats["medium"])


@functools.lru_cache(maxsize=2048)
def _long_date(day: date, code: str) -> str:
    return babel_dates.format_date(day, "long", locale=_babel_locale(code))


def format_number(value: int | Decimal, locale: str | None = None) -> str:
    """A number with the locale's grouping and decimal signs."""
    return babel_numbers.format_decimal(value, locale=_fmt_locale(locale))


def format_money(ore: int, locale: str | None = None) -> str:
    """An amount held in øre, as kroner for the locale."""
    return babel_numbers.format_currency(
        Decimal(ore) / 100, "NOK", locale=_MONEY_LOCALE[locale or current_locale()]
    )


def pick(obj: object, field: str, locale: str | None = None, fallback: str = "nn") -> str:
    """The value of ``field_<locale>`` on ``obj``, else ``fallback``'s, else any language's."""
    locale = locale or current_locale()
    for code in (locale, fallback, *LOCALES):
        value = getattr(obj, f"{field}_{code}", None)
        if value:
            return value
    return ""


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and the Jinja filters that format for the active locale."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        day=format_day,
        short_day=format_short_day,
        clock=format_clock,
        moment=format_moment,
        number=format_number,
        money=format_money,
    )
    app.jinja_env.globals.update(current_locale=current_locale, pick=pick, LOCALES=LOCALES)
