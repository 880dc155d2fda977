"""Routes every deployment has: language choice, the health check, the privacy notice, the
accessibility statement and, when no plugin registers a home page, a front page saying there is
nothing here yet."""

from __future__ import annotations

from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import force_locale
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import SecurityError
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix

from core import forms, offices, privacy
from core.api.problems import is_api_request
from core.collation import collated
from core.db import LARGEST_ID, get_session
from core.errors import MESSAGES as ERROR_MESSAGES
from core.i18n import LOCALE_COOKIE, LOCALES, current_locale
from core.models import County

bp = Blueprint("core", __name__)

HOME_KEY = "core.home"
ONE_YEAR = 365 * 24 * 3600


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
    response = redirect(_in_language(safe_next(request.args.get("next")), code))
    response.set_cookie(
        LOCALE_COOKIE, code, max_age=ONE_YEAR, samesite="Lax", httponly=True,
        secure=request.is_secure,
    )
    return response


def _in_language(path: str, code: str) -> str:
    """``path``, or its page in language ``code`` when the path names its language (the
    accessibility statement's ``/accessibility/nb``), so choosing a language there shows it."""
    parts = path.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) == 3 and parts[1] == "accessibility" and parts[2] in LOCALES:
        return f"/accessibility/{code}"
    return path


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/privacy", endpoint="privacy")
def privacy_notice():
    """What is stored about participants, why, for how long, and whom to ask: every office's
    contact, or one office's (``?county=<slug>``) with its own texts if configured. Core says
    who is responsible and whom to ask; each plugin adds what it stores
    (``core.privacy.register_notice_section``)."""
    counties = list(get_session().scalars(sa.select(County).order_by(collated(County.name_nb))))
    slug = request.args.get("county")
    if slug:
        counties = [c for c in counties if c.slug == slug]
        if not counties:
            abort(404)
    return render_template(
        "privacy.html", counties=counties, one_office=bool(slug),
        sections=privacy.notice_sections(),
        offices=current_app.config.get("PRIVACY_OFFICES", {}), locale=current_locale(),
        months=current_app.config["PRIVACY_RETENTION_MONTHS"],
        years=current_app.config["PRIVACY_PAID_CLAIM_RETENTION_YEARS"])


@bp.get("/accessibility", endpoint="accessibility")
@bp.get("/accessibility/<code>", endpoint="accessibility")
def accessibility_statement(code: str | None = None):
    """The accessibility statement (tilgjengelegheitserklæring) on the model of Digdir's
    uustatus.no: at ``/accessibility`` in the chosen language, and at a stable address in each
    language (``/accessibility/nn``, ``/nb``, ``/en``) for the register and for links."""
    if code is None:
        return _statement()
    if code not in LOCALES:
        abort(404)
    with force_locale(code):
        return _statement()


def _statement() -> str:
    return render_template("accessibility.html", offices=offices.offices(),
                           base_url=_public_base() + "/")


def empty_home():
    """The front page of an application without a plugin that has one: nothing here yet."""
    return render_template("home.html")


def register_home(app: Flask, endpoint: str) -> None:
    """Make ``endpoint`` the front page the site's name links to (a plugin calls this from
    ``init_app``; the first one registered wins)."""
    app.extensions.setdefault(HOME_KEY, endpoint)


def home_url() -> str:
    """The URL of the front page: the one a plugin registered, else core's empty one."""
    return url_for(current_app.extensions.get(HOME_KEY, "core.home"))


def add_empty_home(app: Flask) -> None:
    """Serve core's empty front page at ``/`` when no plugin registered a home page (the factory
    calls this after the plugins)."""
    if HOME_KEY not in app.extensions:
        app.add_url_rule("/", "core.home", empty_home, methods=["GET"])


def check_public_base_url(app: Flask) -> None:
    """Refuse to start without a usable ``PUBLIC_BASE_URL`` outside debug and testing, and set
    Flask's ``TRUSTED_HOSTS`` from it (plus ``EXTRA_TRUSTED_HOSTS``), so a request naming any
    other host is answered 400 before a view runs."""
    base = app.config.get("PUBLIC_BASE_URL")
    if not base:
        if app.debug or app.testing:
            return
        raise RuntimeError(
            "PUBLIC_BASE_URL is not set: every link in an e-mail, PDF or calendar file is built "
            "from it (never from the request's Host header). Set FLASK_PUBLIC_BASE_URL to the "
            "site's address, e.g. https://kurs.statsforvaltaren.no."
        )
    # Its shape (an absolute http(s) address) is checked with every setting (core.settings).
    parts = urlsplit(base)
    if app.config.get("TRUSTED_HOSTS") is None and not (app.debug or app.testing):
        extra = app.config.get("EXTRA_TRUSTED_HOSTS") or []
        app.config["TRUSTED_HOSTS"] = [parts.hostname, *(name for name in extra if name)]


def _public_base() -> str:
    """``PUBLIC_BASE_URL`` without its trailing slash; in debug and testing without one, the
    request's own address (or ``http://localhost`` outside a request)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/")
    if not (current_app.debug or current_app.testing):
        # check_public_base_url refuses to start like this; never fall back to the Host header.
        raise RuntimeError("PUBLIC_BASE_URL is not set.")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://localhost"


def public_host() -> str:
    """The host name of ``PUBLIC_BASE_URL``: the domain of calendar UIDs."""
    return urlsplit(_public_base()).hostname or "localhost"


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for a link that leaves the request (mail, PDF, calendar file), built from
    ``PUBLIC_BASE_URL`` and never from the request's Host header (or X-Forwarded-Host); it works
    inside a request and out of one (the outbox sender)."""
    base = urlsplit(_public_base())
    current_app.inject_url_defaults(endpoint, values)
    anchor = values.pop("_anchor", None)
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    if anchor is not None:
        url += "#" + url_quote(anchor, safe="%!#$&'()*+,/:;=?@")
    return url


def _refuse_untrusted_host():
    """Answer a Host (or trusted X-Forwarded-Host) outside ``TRUSTED_HOSTS`` with 400 before
    any other hook runs: Flask only raises it at dispatch, after the before-request hooks
    (which log, count rate limits and touch sessions) have seen the request. Plain text: with
    no trusted host Flask has no URL adapter, so no page with links can be rendered."""
    if isinstance(request.routing_exception, SecurityError):
        return Response(f"{ERROR_MESSAGES[400][0]}\n", 400, mimetype="text/plain")
    return None


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
    """Refuse a JSON body on a POST (or PUT, PATCH, DELETE) to a page: no page takes JSON, and
    Flask-WTF would read one as form data, handing numbers, lists and objects to fields that
    expect text (a 500 where the fuzz tests send them). The JSON API (``/api/``) takes JSON,
    checked against its contract's models, never by a form."""
    if (request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json
            and not is_api_request()):
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
    # ``PROXY_FIX_X_FOR = 1`` …: how many proxies set each header; 0 (the default) trusts none.
    config = app.config
    counts = {"x_for": config["PROXY_FIX_X_FOR"], "x_proto": config["PROXY_FIX_X_PROTO"],
              "x_host": config["PROXY_FIX_X_HOST"], "x_port": config["PROXY_FIX_X_PORT"],
              "x_prefix": config["PROXY_FIX_X_PREFIX"]}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)


def _ids_in_range():
    """A number past ``core.db.LARGEST_ID`` in an address names nothing: 404 before any query
    (PostgreSQL would refuse the query: a 500)."""
    if any(isinstance(v, int) and not -LARGEST_ID <= v <= LARGEST_ID
           for v in (request.view_args or {}).values()):
        abort(404)


def init_app(app: Flask) -> None:
    """Register the blueprint, the session cookie rules and the headers every response carries.

    Every form is a Flask-WTF form that checks its own CSRF token (so a failure re-renders the
    form with what the person typed); ``csrf_token()`` is offered to templates for bare buttons.
    """
    check_public_base_url(app)
    # First of all before-request hooks, whichever extension registered before this one.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_untrusted_host)
    app.register_blueprint(bp)
    app.session_interface = SessionInterface()
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.jinja_env.globals.setdefault("home_url", home_url)
    forms.init_app(app)
    app.after_request(_security_headers)
    app.request_class = FormRequest
    app.before_request(_form_bodies_only)
    app.before_request(_ids_in_range)
    trust_proxy(app)
