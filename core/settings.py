"""Every setting the application reads: its name, type, default and check, in one table.

``create_app`` loads the configuration (``instance/config.py``, ``FLASK_*`` environment
variables, or a test's mapping) and then :func:`declare` checks core's settings; each plugin
declares its own in its ``init_app`` the same way (core imports no plugin). A wrong type or value
stops the start with a message naming every setting that is wrong and what it should be, instead
of a 500 on the first request that reads it. ``FLASK_*`` values arrive parsed as JSON when they
look like JSON (``FLASK_REFUNDS_DEBTOR_ACCOUNT=76940512057`` is an int), so a kind accepts what
means the same (digits as a number or a string) and stores the value its readers expect.

docs/configuration.md documents each of them; tests/test_settings.py keeps the two in step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from limits import parse_many

from core.auth import DEFAULT_HASH_METHOD, RESET_MAX_AGE
from core.caching import DEFAULT_PAGE_CACHE_SIZE, DEFAULT_RECHECK_SECONDS
from core.i18n import LOCALES
from core.mail import DEFAULT_MAX_ATTEMPTS
from core.sandbox import Limits as SandboxLimits
from core.smtp import DEFAULT_FROM, DEFAULT_TIMEOUT

log = logging.getLogger("kursportal.settings")
# FLASK_* variables that Flask's command line reads for itself (FLASK_APP, FLASK_RUN_PORT …).
FLASK_CLI_NAMES = ("APP", "ENV", "SKIP_DOTENV", "RUN_")


class ConfigurationError(RuntimeError):
    """One or more settings have a wrong type or value; the message lists each."""


class Kind:
    """How a setting's value is read: ``parse`` returns the value to store or raises
    ``ValueError``; ``expected`` says in words what is accepted."""

    expected = "a value"

    def parse(self, value: Any) -> Any:  # noqa: D102
        return value


class Text(Kind):
    """A non-empty string."""

    def __init__(self, expected: str = "a text", check: Callable[[str], bool] | None = None):
        self.expected, self.check = expected, check

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        if self.check is not None and not self.check(value):
            raise ValueError
        return value


class Integer(Kind):
    """A whole number (or its digits as a string), at least ``least``."""

    def __init__(self, least: int = 1, most: int | None = None):
        self.least, self.most = least, most
        bound = f"from {least} to {most}" if most is not None else f"{least} or more"
        self.expected = f"a whole number {bound}"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        if value < self.least or (self.most is not None and value > self.most):
            raise ValueError
        return value


class Number(Kind):
    """A number greater than zero (a duration, a count of seconds); ints stay ints."""

    def __init__(self, zero_allowed: bool = False):
        self.zero_allowed = zero_allowed
        self.expected = "a number, 0 or more" if zero_allowed else "a number greater than 0"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        if value != value or value in (float("inf"), float("-inf")):  # NaN, infinity
            raise ValueError
        if value < 0 or (value == 0 and not self.zero_allowed):
            raise ValueError
        return value


class Boolean(Kind):
    """``true`` or ``false`` (JSON, Python, or the words people write in environment files)."""

    expected = "true or false"
    WORDS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in self.WORDS:
            return self.WORDS[value.strip().lower()]
        raise ValueError


class Choice(Kind):
    """One of a few words."""

    def __init__(self, *options: str):
        self.options = options
        self.expected = "one of " + ", ".join(repr(o) for o in options)

    def parse(self, value: Any) -> Any:  # noqa: D102
        if value not in self.options:
            raise ValueError
        return value


class TextList(Kind):
    """A list of names: a JSON list, or the names separated by commas."""

    expected = 'a list of names (a JSON list like ["a", "b"], or "a,b")'

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError
        return list(value)


class Table(Kind):
    """A mapping (a JSON object, or a dict in instance/config.py)."""

    expected = "a mapping (a JSON object)"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, Mapping):
            raise ValueError
        return value


class RateLimit(Kind):
    """A rate limit as Flask-Limiter reads it: ``5 per minute;20 per hour``."""

    expected = 'a rate limit like "5 per 10 minutes" (several separated by ";")'

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError
        return value


class Url(Kind):
    """An absolute URL of one of the given schemes, with a host and without a query."""

    def __init__(self, *schemes: str, expected: str | None = None):
        self.schemes = schemes
        self.expected = expected or f"an absolute {'/'.join(schemes)} address"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, str):
            raise ValueError
        parts = urlsplit(value)
        if (parts.scheme not in self.schemes or not parts.hostname or parts.query
                or parts.fragment or parts.username or parts.password):
            raise ValueError
        return value


class DatabaseUrl(Kind):
    """A SQLAlchemy database URL."""

    expected = "a database URL (sqlite:///path or postgresql+psycopg://user:…@host/name)"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, str):
            raise ValueError
        try:
            sa.engine.make_url(value)
        except sa.exc.ArgumentError:
            raise ValueError from None
        return value


class SecretKey(Kind):
    """Flask's secret key: text or bytes (its length is checked by the factory)."""

    expected = "a text (64 hex characters)"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if not isinstance(value, str | bytes) or not value:
            raise ValueError
        return value


class LogLevel(Kind):
    """A level name of Python's logging."""

    expected = "a log level: DEBUG, INFO, WARNING, ERROR or CRITICAL"

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, str) and value.upper() in logging.getLevelNamesMapping():
            return value.upper()
        raise ValueError


@dataclass(frozen=True)
class Setting:
    """One setting: ``default`` may be a callable of the app (evaluated after loading);
    ``optional`` lets it be unset (None); a ``secret`` value is never repeated in a message."""

    name: str
    kind: Kind
    default: Any = None
    optional: bool = False
    secret: bool = False

    def parse(self, value: Any) -> Any:
        """The value to store; ``ValueError`` with a sentence saying what is wrong."""
        if value is None and self.optional:
            return None
        try:
            return self.kind.parse(value)
        except (ValueError, TypeError):
            got = f"a value of type {type(value).__name__}" if self.secret else repr(value)
            unset = " or unset" if self.optional else ""
            raise ValueError(
                f"{self.name} must be {self.kind.expected}{unset} (got {got})") from None


def _page_recheck(app: Flask) -> float:
    # Tests change data and look at the page at once.
    return 0 if app.testing else DEFAULT_RECHECK_SECONDS


_SANDBOX = SandboxLimits()

#: Core's settings. Flask's and its extensions' own settings are here when we set them or rely
#: on them; the rest of Flask's settings keep Flask's defaults and are not checked.
CORE = (
    Setting("SECRET_KEY", SecretKey(), optional=True, secret=True),
    Setting("DATABASE_URL", DatabaseUrl(), lambda app: f"sqlite:///{app.instance_path}/"
            "kursportal.sqlite", secret=True),
    Setting("PUBLIC_BASE_URL", Url("http", "https", expected=(
        "an absolute http(s) address with a host and no query, fragment or credentials")),
        optional=True),
    Setting("EXTRA_TRUSTED_HOSTS", TextList(), []),
    Setting("TRUSTED_HOSTS", TextList(), optional=True),
    Setting("PROXY_FIX_X_FOR", Integer(least=0), 0),
    Setting("PROXY_FIX_X_PROTO", Integer(least=0), 0),
    Setting("PROXY_FIX_X_HOST", Integer(least=0), 0),
    Setting("PROXY_FIX_X_PORT", Integer(least=0), 0),
    Setting("PROXY_FIX_X_PREFIX", Integer(least=0), 0),
    Setting("DEFAULT_LOCALE", Choice(*LOCALES), "nn"),
    Setting("PLUGINS", TextList(), ["enrollment", "certificates", "refunds"]),
    # Flask sets these two itself (DEBUG from FLASK_DEBUG or --debug): no default of ours.
    Setting("DEBUG", Boolean(), optional=True),
    Setting("TESTING", Boolean(), optional=True),
    Setting("SESSION_COOKIE_HTTPONLY", Boolean(), True),
    Setting("SESSION_COOKIE_SAMESITE", Choice("Lax", "Strict"), "Lax"),
    Setting("SESSION_COOKIE_SECURE", Boolean(), False),
    Setting("REMEMBER_COOKIE_HTTPONLY", Boolean(), True),
    Setting("REMEMBER_COOKIE_SAMESITE", Choice("Lax", "Strict"), "Lax"),
    Setting("MAX_CONTENT_LENGTH", Integer(least=1024), 12 * 1024 * 1024),
    Setting("WTF_CSRF_ENABLED", Boolean(), True),
    Setting("LOG_FORMAT", Choice("text", "json"), "text"),
    Setting("LOG_LEVEL", LogLevel(), "INFO"),
    Setting("PUBLIC_PAGE_CACHE_SIZE", Integer(least=0), DEFAULT_PAGE_CACHE_SIZE),
    Setting("PUBLIC_PAGE_RECHECK", Number(zero_allowed=True), _page_recheck),
    Setting("MAIL_SERVER", Text("a host name"), optional=True),
    Setting("MAIL_PORT", Integer(least=1, most=65535), optional=True),
    Setting("MAIL_USE_TLS", Boolean(), False),
    Setting("MAIL_USE_SSL", Boolean(), False),
    Setting("MAIL_USERNAME", Text(), optional=True),
    Setting("MAIL_PASSWORD", Text(), optional=True, secret=True),
    Setting("MAIL_FROM", Text('an address like "Kursportal <kurs@example.no>"',
                              check=lambda v: "@" in v), DEFAULT_FROM),
    Setting("MAIL_TIMEOUT", Number(), DEFAULT_TIMEOUT),
    Setting("MAIL_MAX_ATTEMPTS", Integer(), DEFAULT_MAX_ATTEMPTS),
    Setting("MAIL_SEND_AFTER_REQUEST", Boolean(), True),
    Setting("RATELIMIT_ENABLED", Boolean(), True),
    Setting("RATELIMIT_STORAGE_URI", Text("a storage URI (database://, redis://…, memory://)",
                                          check=lambda v: "://" in v), optional=True),
    Setting("RATELIMIT_STORAGE_OPTIONS", Table(), optional=True),
    Setting("RATELIMIT_HEADERS_ENABLED", Boolean(), True),
    # A failing store degrades to counting in each worker alone, never to a 500 on every page.
    Setting("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", Boolean(), True),
    Setting("LINK_RATE_LIMIT", RateLimit(), "5 per minute;20 per hour"),
    # The JSON API (core/api): calls per client address (public and staff operations), per
    # token (staff operations), and how long a cache may keep a public answer.
    Setting("API_IP_RATE_LIMIT", RateLimit(), "120 per minute;3000 per hour"),
    Setting("API_TOKEN_RATE_LIMIT", RateLimit(), "300 per minute;10000 per hour"),
    Setting("API_PUBLIC_MAX_AGE", Integer(least=0), 60),
    Setting("PASSWORD_HASH_METHOD", Text('"scrypt" or "pbkdf2" (with werkzeug\'s parameters)',
                                         check=lambda v: v.split(":")[0] in ("scrypt", "pbkdf2")),
            DEFAULT_HASH_METHOD),
    Setting("PASSWORD_RESET_MAX_AGE", Integer(), RESET_MAX_AGE),
    # Unset: the staff home a plugin registered (core.staff.register_staff_home), else core's.
    Setting("STAFF_HOME", Text("a path on this site", check=lambda v: v.startswith("/")),
            optional=True),
    Setting("STAFF_SESSION_IDLE_MINUTES", Number(), 30),
    Setting("STAFF_SESSION_MAX_HOURS", Number(), 10),
    Setting("STAFF_TWO_FACTOR_REQUIRED", Boolean(), True),
    Setting("LOGIN_THROTTLE_ACCOUNT_FREE", Integer(least=0), 5),
    Setting("LOGIN_THROTTLE_ADDRESS_FREE", Integer(least=0), 20),
    Setting("LOGIN_THROTTLE_BASE_SECONDS", Number(), 1),
    Setting("LOGIN_THROTTLE_MAX_SECONDS", Number(), 300),
    Setting("LOGIN_THROTTLE_FORGET_HOURS", Number(), 24),
    Setting("SANDBOX_CPU_SECONDS", Integer(), _SANDBOX.cpu_seconds),
    Setting("SANDBOX_MEMORY_MB", Integer(least=64), _SANDBOX.memory_mb),
    Setting("SANDBOX_WALL_SECONDS", Number(), _SANDBOX.wall_seconds),
    # Bookkeeping rules (bokføringsloven § 13): payment records stay five years after the end of
    # the financial year.
    Setting("PRIVACY_RETENTION_MONTHS", Integer(), 12),
    Setting("PRIVACY_PAID_CLAIM_RETENTION_YEARS", Integer(), 5),
    # Per office: {"vestland": {"contact": {"nn": ..., "nb": ..., "en": ...},
    #                           "retention": {"nn": ..., ...}}}, shown on /privacy.
    Setting("PRIVACY_OFFICES", Table(), {}),
)


def defaults(settings: Iterable[Setting]) -> dict[str, Any]:
    """The plain (not computed) defaults, to load before the configuration: they replace
    Flask's own defaults where we differ (``SESSION_COOKIE_SAMESITE``, ``MAX_CONTENT_LENGTH``)."""
    return {s.name: s.default for s in settings
            if not callable(s.default) and not (s.optional and s.default is None)}


def declare(app: Flask, settings: Iterable[Setting]) -> None:
    """Fill in the defaults of ``settings`` that the configuration left unset, check every one
    and store the parsed value; raise ``ConfigurationError`` naming each wrong setting."""
    settings = tuple(settings)
    registry = app.extensions.setdefault("kp_settings", {})
    problems = []
    for setting in settings:
        registry[setting.name] = setting
        if setting.optional and setting.name not in app.config:
            continue
        if app.config.get(setting.name) is None and not setting.optional:
            default = setting.default(app) if callable(setting.default) else setting.default
            app.config[setting.name] = default
        try:
            app.config[setting.name] = setting.parse(app.config.get(setting.name))
        except ValueError as problem:
            problems.append(str(problem))
    if problems:
        count = "a setting is" if len(problems) == 1 else f"{len(problems)} settings are"
        raise ConfigurationError(
            f"Kursportal cannot start: {count} wrong"
            " (set them in instance/config.py or as FLASK_<NAME> environment variables; "
            "docs/configuration.md lists them):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def warn_unknown(app: Flask, environ: Mapping[str, str]) -> list[str]:
    """Log each ``FLASK_*`` variable that names no setting (a typo such as
    ``FLASK_REFUNDS_DEBTOR_ACOUNT`` would otherwise be ignored without a word); call it after
    the plugins have declared theirs. Returns the names."""
    known = set(app.extensions.get("kp_settings", {})) | set(Flask.default_config)
    unknown = sorted(
        name for name in environ
        if name.startswith("FLASK_") and (key := name.removeprefix("FLASK_")) not in known
        and not key.startswith(FLASK_CLI_NAMES) and key.split("__")[0] not in known
    )
    for name in unknown:
        log.warning("%s names no setting of Kursportal and is ignored (docs/configuration.md "
                    "lists them)", name)
    return unknown
