"""Structured logging: one line per request with a request id, plain text or JSON, and no
personal data beyond ids.

What is never logged: form bodies, query strings, e-mail addresses, manage tokens and
password-reset tokens. Paths are redacted (``/manage/[redacted]``) before they reach a log
line, and a filter redacts the same patterns from any message or traceback that passes through
the loggers that may carry a path (Flask's own ``log_exception``, Werkzeug's access log, ours).
Tracebacks go to the server log only; the error pages never show one (``core.errors``). The
handler installed here redacts whatever it writes, from any logger.

Configuration: ``LOG_FORMAT`` (``text``, the default, or ``json``) and ``LOG_LEVEL`` (``INFO``).
The id comes from a well-formed ``X-Request-ID`` header (a proxy's), else a fresh one; it is
echoed in the response's ``X-Request-ID`` so a person can quote it and staff can find the line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Proxies send UUIDs, hex strings or AWS-style "Root=1-…"; nothing that could break a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{8,128}")

REDACTED = "[redacted]"
_SECRET_PATHS = [
    # /manage/<token>/…, but not the fixed /manage/lost-link page.
    (re.compile(r"(/manage/)(?!lost-link(?![^/?#\s\"'<>]))[^/?#\s\"'<>]+"), r"\1" + REDACTED),
    (re.compile(r"(%2Fmanage%2F)(?!lost-link(?![^%&\s\"'<>]))[^%&\s\"'<>]+", re.I),
     r"\1" + REDACTED),
    (re.compile(r"(/password/reset/)[^/?#\s\"'<>]+"), r"\1" + REDACTED),
    (re.compile(r"(%2Fpassword%2Freset%2F)[^%&\s\"'<>]+", re.I), r"\1" + REDACTED),
    # A bare manage token (secrets.token_urlsafe(32): 43 characters), e.g. in an exception.
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), REDACTED),
    # A bare signed token (itsdangerous: payload.timestamp.signature, the password reset's and
    # any other link's), e.g. in an exception message.
    (re.compile(r"(?<![A-Za-z0-9_.-])\.?[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,8}"
                r"\.[A-Za-z0-9_-]{27,}(?![A-Za-z0-9_-])"), REDACTED),
]
# An address not inside <…>, so Message-IDs such as <hex@kursportal> stay searchable.
_EMAIL = re.compile(r"(?<![<\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

REQUEST_LOGGER = "kursportal.request"
request_log = logging.getLogger(REQUEST_LOGGER)
_HANDLER_MARK = "_kursportal_handler"
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "fields",
}


def redact(text: str) -> str:
    """``text`` with manage and reset tokens and e-mail addresses replaced."""
    for pattern, replacement in _SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return _EMAIL.sub("[email]", text)


def _printable(text: str) -> str:
    """Escape control characters so a crafted path cannot forge a second log line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    if has_request_context():
        return g.get("request_id")
    return None


class RedactingFilter(logging.Filter):
    """Redact secrets from a record's message and traceback where it is made, so that no handler
    (a log collector, the test runner's) ever sees them; and stamp the request id."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, do not raise here
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


def _fields(record: logging.LogRecord) -> dict:
    """The structured fields of a record: ``extra={"fields": {...}}`` and any other extra."""
    fields = dict(getattr(record, "fields", None) or {})
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRS and not key.startswith("_"):
            fields.setdefault(key, value)
    return {key: redact(value) if isinstance(value, str) else value
            for key, value in fields.items()}


class _RedactingFormatter(logging.Formatter):
    """The parts of a line every format has, redacted here rather than on the record, so that
    other handlers (the development mail log's own) still get the record as it was made."""

    def parts(self, record: logging.LogRecord) -> tuple[str, str | None, str, str | None]:
        """Request id, message, traceback and stack, with secrets taken out."""
        request_id = getattr(record, "request_id", None) or current_request_id()
        exc = record.exc_text or (self.formatException(record.exc_info)
                                  if record.exc_info else None)
        stack = self.formatStack(record.stack_info) if record.stack_info else None
        return (request_id, redact(record.getMessage()), exc and redact(exc),
                stack and redact(stack))


class TextFormatter(_RedactingFormatter):
    """``time level logger [request id] message key=value …`` on one line (plus traceback)."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        request_id, message, exc, stack = self.parts(record)
        line = (f"{self.formatTime(record)} {record.levelname} {record.name} "
                f"[{request_id or '-'}] {message}")
        pairs = " ".join(f"{key}={_printable(str(value))}"
                         for key, value in _fields(record).items() if value is not None)
        return "\n".join(filter(None, [f"{line} {pairs}" if pairs else line, exc, stack]))


class JsonFormatter(_RedactingFormatter):
    """One JSON object per line: ts, level, logger, message, request_id, fields, exc."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        request_id, message, exc, stack = self.parts(record)
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "request_id": request_id,
            **_fields(record),
        }
        if exc:
            entry["exc"] = exc
        if stack:
            entry["stack"] = stack
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners replace it)."""

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _install_handler(app: Flask) -> None:
    """One handler on the root logger, replaced (not added again) when another app is made."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json"
                         else TextFormatter())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # SQLAlchemy logs every statement with its parameters (personal data) once its logger is
    # enabled for INFO, which a root level of INFO would do; only its warnings are wanted.
    sql_log = logging.getLogger("sqlalchemy")
    if sql_log.level == logging.NOTSET:
        sql_log.setLevel(logging.WARNING)


def _redact_at_source(app: Flask) -> None:
    """Filter the loggers whose messages may hold a path, before any handler sees them."""
    for logger in (app.logger, logging.getLogger("werkzeug"), logging.getLogger("core.errors"),
                   request_log):
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _staff_id() -> int | None:
    # Only a user Flask-Login has already loaded for this request: no query just for the log.
    user = g.get("_login_user")
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def _log_request(response):
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    fields = {
        "method": request.method,
        "path": _printable(redact(request.path)),
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "staff_id": _staff_id(),
    }
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    request_log.log(level, "request", extra={"fields": fields, "request_id": request_id})
    return response


def init_app(app: Flask) -> None:
    """Install the handler and the request id; register first so the log line sees the final
    response (after-request functions run in reverse order)."""
    _install_handler(app)
    _redact_at_source(app)
    app.before_request(_start_request)
    app.after_request(_log_request)
