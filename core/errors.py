"""Error pages in the person's language, and 503 when the database cannot be reached. Under
``/api/`` the same errors are problem objects (``core.api.problems``), not pages."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from core.api.problems import default_detail, is_api_request, problem

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Something in the request was wrong"),
          _l("Please check what you entered and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"),
          _l("We could not find the page you asked for. It may have been moved or removed.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("The upload is too large"), _l("Please send a smaller file.")),
    429: (_l("Too many attempts"), _l("Please wait a little and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("The error has been logged. Please try again later.")),
    503: (_l("The service is temporarily unavailable"),
          _l("We cannot reach the database right now. Please try again in a few minutes.")),
}


def render_error(code: int, detail: str | None = None):
    """Render the friendly error page for ``code`` (a problem object for the API)."""
    if is_api_request():
        return problem(code, detail or default_detail(code)), code
    title, message = MESSAGES.get(code, MESSAGES[500])
    html = render_template(
        "errors/error.html", code=code, title=title, message=message, detail=detail
    )
    return html, code


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if is_api_request():
        return problem(code, default_detail(code), headers=dict(
            (k, v) for k, v in exc.get_headers() if k.lower() in ("allow", "www-authenticate")))
    if code not in MESSAGES:
        return exc
    return render_error(code)


def _database_down(exc: Exception):
    log.error("database unavailable: %s", exc.__class__.__name__)
    # Flask-Login puts ``current_user`` in every template's context, loading a logged-in staff
    # member from the database, which would fail again inside this handler (a bare 500). The
    # page says nothing personal, so show it as to a visitor; g._login_user is Flask-Login's
    # per-request cache of the user.
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:
        g._login_user = login_manager.anonymous_user()
    return render_error(503)


def _unexpected(exc: Exception):
    log.exception("unhandled error")
    return render_error(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(InterfaceError, _database_down)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
