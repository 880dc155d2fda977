"""Routes every deployment has: language choice and the health check."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix

from core.db import get_session
from core.i18n import LOCALE_COOKIE, LOCALES

bp = Blueprint("core", __name__)

ONE_YEAR = 365 * 24 * 3600
# ``PROXY_FIX_X_FOR = 1`` … : how many proxies set each X-Forwarded-* header (0: trust none).
PROXY_FIX_HEADERS = ("for", "proto", "host", "port", "prefix")


def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the chosen language in a cookie and go back to the page the person was on."""
    if code not in LOCALES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(
        LOCALE_COOKIE, code, max_age=ONE_YEAR, samesite="Lax", httponly=True,
        secure=request.is_secure,
    )
    return response


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for a link that leaves the request (mail, PDF, calendar file): based on
    ``PUBLIC_BASE_URL`` when set, never on the request's Host header otherwise in production."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def no_store(response):
    """Mark a response as personal: never cached by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Manage links carry a secret in the path; never let it leak to another site.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


class _NamedPartsOnly(FormDataParser):
    """Drop form parts that have no name: no browser sends one, and a multipart part whose name
    cannot be read reaches WTForms as a ``None`` key, on which ``FieldList`` fails (a 500)."""

    def parse(self, *args, **kwargs):  # noqa: D102
        stream, form, files = super().parse(*args, **kwargs)
        if None in form:
            form = self.cls([(k, v) for k, v in form.items(multi=True) if k is not None])
        if None in files:
            files = self.cls([(k, v) for k, v in files.items(multi=True) if k is not None])
        return stream, form, files


class FormRequest(Request):
    """Flask's request, reading only named form parts."""

    form_data_parser_class = _NamedPartsOnly


def _form_bodies_only():
    """Refuse a JSON body on a POST (or PUT, PATCH, DELETE): no route takes JSON, and Flask-WTF
    would read one as form data, handing numbers, lists and objects to fields that expect text
    (a 500 where the fuzz tests send them)."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json:
        abort(400)


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is ``Secure`` whenever the request came over HTTPS
    (or ``SESSION_COOKIE_SECURE`` says so), so a deployment behind TLS needs no extra switch."""

    def get_cookie_secure(self, app: Flask) -> bool:  # noqa: D102
        if super().get_cookie_secure(app):
            return True
        return has_request_context() and request.is_secure


def trust_proxy(app: Flask) -> None:
    """Behind nginx, take the client's address and scheme from the X-Forwarded-* headers the
    configured number of proxies set (rate limits and the audit log then see the real client,
    cookies get ``Secure``). Without ``PROXY_FIX_X_*`` nothing is trusted: anyone can send
    those headers."""
    counts = {
        f"x_{name}": int(app.config.get(f"PROXY_FIX_X_{name.upper()}") or 0)
        for name in PROXY_FIX_HEADERS
    }
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)


def init_app(app: Flask) -> None:
    """Register the blueprint, the session cookie rules and the headers every response carries.

    Every form is a Flask-WTF form that checks its own CSRF token (so a failure re-renders the
    form with what the person typed); ``csrf_token()`` is offered to templates for bare buttons.
    """
    app.register_blueprint(bp)
    app.session_interface = SessionInterface()
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.after_request(_security_headers)
    app.request_class = FormRequest
    app.before_request(_form_bodies_only)
    trust_proxy(app)
