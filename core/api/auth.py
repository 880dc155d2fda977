"""Who calls the staff API: a personal access token in ``Authorization: Bearer …``.

``token_required(write=False)`` wraps a view: it finds the token, refuses one that is unknown,
expired, revoked or whose holder's account is closed (401, saying which), refuses a read-only
token a write (403), and makes ``current_user`` the token's holder limited to its office
(``core.api.tokens.TokenUser``) for the rest of the request, so the services' county scoping
(``core.auth.county_scope``) applies as on the pages: another office's objects are 404.

The session cookie is never read here: a staff member's browser cannot be made to call the
API (no cross-site request forgery), and a token does not sign anybody in to the pages.
Every call that changes data is written to the audit log with the token that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from core.api import tokens
from core.api.problems import problem
from core.api.spec import spec
from core.db import end_transaction, get_engine, get_session, utcnow
from core.i18n import format_short_day

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _challenge(detail: str, error: str = "invalid_token"):
    return problem(401, detail, headers={
        "WWW-Authenticate": f'Bearer realm="kursportal", error="{error}"'})


def bearer_token() -> str | None:
    """The token the request carries, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(write: bool):
    """The token of the request, checked; or the problem response refusing it."""
    text = bearer_token()
    if text is None:
        return None, problem(401, _("Send a personal access token: Authorization: Bearer …"),
                             headers={"WWW-Authenticate": 'Bearer realm="kursportal"'})
    session = get_session()
    token = tokens.find(session, text)
    now = utcnow()
    if token is None:
        return None, _challenge(_("The token is not valid."))
    if token.revoked_at is not None:
        return None, _challenge(_("The token has been revoked."))
    if now >= token.expires_at:
        return None, _challenge(_("The token expired on %(day)s.", day=format_short_day(
            (token.expires_at - tokens.timedelta(seconds=1)).astimezone(tokens.OSLO).date())))
    if not token.owner.active:
        return None, _challenge(_("The token's holder can no longer use the service."))
    if not token.owner.is_admin and token.owner.county_id != token.county_id:
        # Moved to another office, or no longer an administrator: the token's office is not
        # theirs any more, so neither is its data.
        return None, _challenge(_("The token's holder no longer works for its county office."))
    if write and not token.can_write:
        return None, problem(403, _("The token may only read. Make a token that may read and "
                                    "write to change data."))
    return token, None


def token_required(write: bool = False) -> Callable:
    """Require a valid token (one that may write, with ``write``) for the view."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            token, refusal = authenticate(write)
            if refusal is not None:
                return refusal
            # spectree reads a body as JSON only when it says it is JSON, and would hand the
            # view no body at all: an operation whose contract takes JSON refuses the rest.
            metadata = spec.get_function_metadata(view)
            if (request.method in WRITE_METHODS and metadata is not None
                    and metadata.json is not None and not request.is_json):
                return problem(415, _("Send the body as JSON (Content-Type: application/json)."))
            # The request's session has read the token; on SQLite a write request's session
            # holds the database's write lock from that first read, and ``note_use`` writes in
            # a transaction of its own: end the request's (nothing is pending) so that one
            # does not wait for it. The view's work begins a new transaction.
            end_transaction(get_session())
            tokens.note_use(get_engine(), token, utcnow())
            g._login_user = tokens.acting_user(token)  # Flask-Login's current user
            g.api_token = token
            response = view(*args, **kwargs)
            if request.method in WRITE_METHODS:
                status = getattr(response, "status_code", 200)
                if status < 400:
                    tokens.record_write(get_session(), token, g._login_user,
                                        f"{request.method} {request.path}", status)
            return response

        wrapped.token_scope = "read-write" if write else "read"
        return wrapped

    return decorate


def token_key() -> str:
    """The rate-limit key of an API call: its token's id when it carries one, else its
    address (Flask-Limiter's key function)."""
    text = bearer_token()
    if text:
        public_id = text.split("_")[1] if text.count("_") >= 2 else "malformed"
        return f"api-token:{public_id[:16]}"
    return f"api-ip:{request.remote_addr or ''}"
