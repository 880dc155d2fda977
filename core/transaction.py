"""One place commits: the request's edge.

A view calls services, which change the request's session and flush but never commit. When the
view returns, :func:`_commit_at_edge` commits the request's write session if the answer is a
success or a redirect (status < 400), and discards it otherwise. Views never call ``commit()``
or ``rollback()``.

Domain errors (:class:`DomainError`; each plugin's ``errors.py`` derives its own, with the
message of every error in one table) are answered in one of two ways:

* inside ``with refusals(form):`` the work done in the block is rolled back to a savepoint and the
  error's message is put next to its form field (or above the form), and the view goes on to
  render the form again with status 400 (or 409 for a state that changed meanwhile);
* anywhere else the error reaches :func:`_refused`, which discards the request's changes, shows
  the message at the top of the page the person came from (a redirect) and answers 303.

GET and HEAD never write: their session is a read session, never committed, and a write
attempted on one is an error in development and tests (and logged, then discarded, in
production).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import SAFE_METHODS, get_session

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain refused what was asked. ``code`` names the rule; the plugin's
    ``MESSAGES`` table (``errors.py``) gives the words shown to the person; ``field`` names the
    form field the message belongs next to, if any; ``status`` is the HTTP status of a page that
    shows the refusal (409: the state changed meanwhile; 400: the input breaks a rule)."""

    code = "error"
    field: str | None = None
    status = 409
    MESSAGES: Mapping[str, object] = {}

    def __init__(self, detail: str = "", *, code: str | None = None, field: str | None = None,
                 **params: object) -> None:
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field
        self.params = params
        super().__init__(detail or self.code)

    @property
    def message(self) -> str:
        """The message in the current language, with this error's parameters filled in."""
        template = self.MESSAGES.get(self.code)
        if template is None:
            template = self.MESSAGES.get(type(self).code)
        if template is None:
            raise LookupError(f"no message for {type(self).__name__} code {self.code!r}")
        text = str(template)
        return text % self.params if self.params else text


@dataclass
class Refusal:
    """What ``refusals`` caught: the error, or ``None`` when the block went through."""

    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> int:
        return self.error.status if self.error is not None else 200


@contextmanager
def refusals(form=None, *, session: Session | None = None) -> Iterator[Refusal]:
    """Run the block in a savepoint. A :class:`DomainError` rolls the block back and its message
    goes next to ``form``'s field (``error.field``) or into the form's own errors; the view then
    carries on after the block with ``refusal.error`` set. Other exceptions pass through."""
    session = session or get_session()
    refusal = Refusal()
    savepoint = session.begin_nested()
    try:
        yield refusal
    except DomainError as error:
        if savepoint.is_active:
            savepoint.rollback()
        refusal.error = error
        _show_on_form(form, error)
    else:
        if savepoint.is_active:
            savepoint.commit()


def _show_on_form(form, error: DomainError) -> None:
    if form is None:
        flash(error.message, "error")
        return
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _refused(error: DomainError):
    """A domain error no view caught: nothing is kept, the person is sent back to the page they
    came from (same site only) with the message at its top."""
    from core.web import home_url, safe_next

    session = g.get("db_session")
    if session is not None:
        session.rollback()
    flash(error.message, "error")
    back = None
    if request.referrer:
        parts = urlsplit(request.referrer)
        if parts.netloc == request.host:
            back = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(safe_next(back, home_url()), 303)


def _note_writes(session: Session, _flush_context) -> None:
    session.info["wrote"] = True


def _commit_at_edge(response):
    session: Session | None = g.get("db_session")
    if session is None:
        return response
    if request.method in SAFE_METHODS:
        if session.info.get("wrote") or session.new or session.dirty or session.deleted:
            if current_app.debug or current_app.testing:
                raise RuntimeError(f"{request.method} {request.path} wrote to the database")
            log.error("%s %s wrote to the database; discarded", request.method,
                      request.url_rule.rule if request.url_rule else "?")
            session.rollback()
        return response
    if response.status_code < 400 or g.get("keep_when_refused"):
        session.commit()
        for callback in g.pop("after_commit", ()):
            try:
                callback()
            except Exception:  # the work is committed; what follows it must be able to catch up
                log.exception("after-commit work failed: %s", getattr(callback, "__name__", "?"))
    else:
        session.rollback()
    return response


def after_commit(callback) -> None:
    """Run ``callback()`` once this request's changes are committed at the edge (never if they
    are discarded). For work that must not hold the transaction's locks, such as rendering the
    mail a change queued; it must be able to catch up later (the mail sender renders what is
    left), since a failure here is logged, not answered."""
    g.setdefault("after_commit", []).append(callback)


def keep_when_refused() -> None:
    """Keep this request's changes although its answer is 4xx: for what records the refusal
    itself (a failed sign-in counted against the address, a request for erasure refused)."""
    g.keep_when_refused = True


def init_app(app: Flask) -> None:
    """Commit at the edge. Registered after every other extension, so it runs first of the
    application's after-request hooks: the outbox and the rate-limit counters see committed
    work."""
    if not event.contains(Session, "after_flush", _note_writes):
        event.listen(Session, "after_flush", _note_writes)
    app.register_error_handler(DomainError, _refused)
    app.after_request(_commit_at_edge)
