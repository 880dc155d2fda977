"""Languages: which locale a request uses, and formatting of dates, times, numbers and money.

Nynorsk, Bokmål and English; the person's choice is a cookie, else Accept-Language, else the
configured default. Dates are stored in UTC and shown in Europe/Oslo.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import NullTranslations
from flask import Flask, current_app, g, request
from flask_babel import Babel, get_locale, get_translations

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


class _Active:
    """The active locale as Flask-Babel chose it, its code and its translations."""

    __slots__ = ("code", "locale", "translations")

    def __init__(self, locale: Locale, code: str, translations: NullTranslations):
        self.locale = locale
        self.code = code
        self.translations = translations


def _active() -> _Active | None:
    """The request's locale and translations, looked up once per locale and request.

    A page asks for them at every translated string and every name in the person's language
    (a catalog page: hundreds of times); Flask-Babel walks its context, domain and locale
    objects on each call. What it chose is kept beside its own state on ``g``, together with
    the ``Locale`` object it was chosen for: ``force_locale`` (mail in the recipient's language
    while a request runs) and ``refresh`` replace that object, so the next call looks again.
    None outside an application context.
    """
    try:
        state = g._flask_babel
        locale = getattr(state, "babel_locale", None)
    except AttributeError:
        state = locale = None
    except RuntimeError:  # no application context
        return None
    if locale is None:
        locale = get_locale()  # runs the locale selector once; None without a request
        if locale is None:
            return None
        state = g._flask_babel
    active = getattr(state, "kp_active", None)
    if active is None or active.locale is not locale:
        code = str(locale)
        active = _Active(locale, code if code in LOCALES else current_app.config[
            "DEFAULT_LOCALE"], get_translations())
        state.kp_active = active
    return active


def current_locale() -> str:
    """The active locale code (``nn``, ``nb`` or ``en``)."""
    active = _active()
    return active.code if active is not None else current_app.config["DEFAULT_LOCALE"]


def _translations() -> NullTranslations:
    active = _active()
    return active.translations if active is not None else get_translations()


def _jinja_gettext(string: str) -> str:
    return _translations().ugettext(string)


def _jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ungettext(singular, plural, n)


def _jinja_pgettext(context: str, string: str) -> str:
    return _translations().upgettext(context, string)


def _jinja_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _translations().unpgettext(context, singular, plural, n)


def _fmt_locale(locale: str | None) -> str:
    return _FORMAT_LOCALE[locale or current_locale()]


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to Europe/Oslo time."""
    return value.astimezone(OSLO)


# Pages repeat the same few days, times and small numbers on every row (a catalog page: dozens
# of dates, seat counts and deadlines), and CLDR's words for them never change while the
# process runs: each is formatted once per value and locale. The locale's data is looked up
# once per locale.


def format_day(value: date | datetime, locale: str | None = None) -> str:
    """'tysdag 3. mars 2026' / 'tirsdag 3. mars 2026' / 'Tuesday 3 March 2026'."""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _full_date(value, _fmt_locale(locale))


@functools.lru_cache(maxsize=2048)
def _full_date(day: date, code: str) -> str:
    pattern = "EEEE d MMMM y" if code == "en_GB" else "full"
    return babel_dates.format_date(day, pattern, locale=_babel_locale(code))


def format_short_day(value: date | datetime, locale: str | None = None) -> str:
    """A compact date: '3. mars 2026' / '3 March 2026'."""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _long_date(value, _fmt_locale(locale))


def format_short_month(value: date, locale: str | None = None) -> str:
    """A month and year: 'mars 2026' / 'March 2026'."""
    return _month(value, _fmt_locale(locale))


@functools.lru_cache(maxsize=256)
def _month(day: date, code: str) -> str:
    return babel_dates.format_date(day, "LLLL y", locale=_babel_locale(code))


def format_clock(value: datetime, locale: str | None = None) -> str:
    """The Oslo wall-clock time of ``value``: '09:30'."""
    return _short_time(to_local(value).time(), _fmt_locale(locale))


def format_moment(value: datetime, locale: str | None = None) -> str:
    """Date and time in Oslo, '3. mars 2026, 09:30', joined by the locale's own CLDR pattern."""
    code = _fmt_locale(locale)
    local = to_local(value)
    return _moment_joiner(code).format(_short_time(local.time(), code),
                                       _long_date(local.date(), code))


@functools.lru_cache(maxsize=2048)
def _short_time(clock: time, code: str) -> str:
    return babel_dates.format_time(clock, "short", locale=_babel_locale(code))


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
    if type(value) is int:  # not a Decimal or a float, whose equal values may print apart
        return _whole_number(value, _fmt_locale(locale))
    return babel_numbers.format_decimal(value, locale=_fmt_locale(locale))


@functools.lru_cache(maxsize=1024)
def _whole_number(value: int, code: str) -> str:
    return babel_numbers.format_decimal(value, locale=_babel_locale(code))


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
    # Flask-Babel's callables find the translations anew at each string; these keep what they
    # found for the request (``_active``), with the same newstyle formatting and escaping.
    app.jinja_env.install_gettext_callables(
        gettext=_jinja_gettext, ngettext=_jinja_ngettext, pgettext=_jinja_pgettext,
        npgettext=_jinja_npgettext, newstyle=True)
    app.jinja_env.filters.update(
        day=format_day,
        short_day=format_short_day,
        clock=format_clock,
        moment=format_moment,
        number=format_number,
        money=format_money,
    )
    app.jinja_env.globals.update(current_locale=current_locale, pick=pick, LOCALES=LOCALES)
