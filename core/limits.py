"""Rate limits (Flask-Limiter): in memory by default, a shared store when there are several
app servers (``RATELIMIT_STORAGE_URI``, e.g. ``redis://…``)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address)


def config_limit(key: str):
    """A limit read from the configuration at request time, so tests and deployments set it."""
    return lambda: current_app.config[key]


def form_email_key() -> str:
    """Limit by the e-mail address in the submitted form, so one address cannot be flooded."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def init_app(app: Flask) -> None:
    """Attach the limiter with memory storage unless configured otherwise."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
