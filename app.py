"""Kursportal: the application factory. Nothing here runs at import time."""

from __future__ import annotations

import importlib
import os
import secrets
from pathlib import Path

from flask import Flask

from core import (
    auth,
    caching,
    cli,
    db,
    errors,
    i18n,
    limits,
    logging,
    mail,
    privacy,
    signin,
    staff,
    staff_admin,
    web,
)

DEVELOPMENT_KEYS = frozenset({"dev", "development", "changeme", "secret"})
# A short key can be guessed offline from a single signed cookie, and then every session and
# reset token forged; 32 random bytes (what is generated below) are out of reach.
MIN_SECRET_KEY_BYTES = 32


def _load_secret_key(app: Flask) -> None:
    """Use the configured key, else one generated once into ``instance/secret_key``. Outside
    debug and testing a development word or a key shorter than 32 bytes is refused."""
    if app.config.get("SECRET_KEY"):
        key = app.config["SECRET_KEY"]
        if app.debug or app.testing:
            return
        if key in DEVELOPMENT_KEYS:
            raise RuntimeError("Refusing to start with a development SECRET_KEY in production.")
        length = len(key if isinstance(key, bytes) else str(key).encode())
        if length < MIN_SECRET_KEY_BYTES:
            raise RuntimeError(
                f"SECRET_KEY is {length} bytes long; at least {MIN_SECRET_KEY_BYTES} are needed "
                f"outside debug and testing (python -c \"import secrets; "
                f"print(secrets.token_hex(32))\")."
            )
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(MIN_SECRET_KEY_BYTES))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application with its enabled plugins."""
    instance_path = (test_config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'kursportal.sqlite'}",
        DEFAULT_LOCALE="nn",
        PLUGINS=["enrollment", "refunds"],
        CATALOG_PAGE_SIZE=25,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        # Enrollment is limited by who is enrolling: an address or an HPR number per offering.
        # One IP address can be a whole hospital (or Norsk Helsenett's) network at the minute a
        # course opens, so its ceiling only stops a flood (docs/security.md, "Rate limits").
        ENROLL_EMAIL_RATE_LIMIT="5 per 10 minutes",
        ENROLL_HPR_RATE_LIMIT="5 per 10 minutes",
        ENROLL_IP_RATE_LIMIT="1000 per 10 minutes",
        LOST_LINK_IP_RATE_LIMIT="100 per 10 minutes",
        LINK_RATE_LIMIT="5 per minute;20 per hour",
        # Each receipt is parsed in a sandbox that may take seconds of CPU: per claim and per IP.
        RECEIPT_UPLOAD_RATE_LIMIT="20 per 10 minutes",
        RECEIPT_UPLOAD_IP_RATE_LIMIT="200 per 10 minutes",
        LINK_EMAIL_RATE_LIMIT="3 per hour",
        # Every link that leaves a request (mail, PDF, .ics) starts with it; required outside
        # debug and testing, and its host is the only one TRUSTED_HOSTS lets in (core.web).
        PUBLIC_BASE_URL=None,
        EXTRA_TRUSTED_HOSTS=[],
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get("DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    _load_secret_key(app)

    register_extensions(app)
    register_plugins(app)
    return app


def register_extensions(app: Flask) -> None:
    """Set up what every plugin shares."""
    logging.init_app(app)  # first, so its after-request hook sees the final response
    db.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    caching.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    cli.init_app(app)
    mail.init_app(app)
    privacy.init_app(app)
    auth.init_app(app)
    staff.init_app(app)
    signin.init_app(app)
    staff_admin.init_app(app)


def register_plugins(app: Flask) -> None:
    """Import each package named in ``PLUGINS`` and let it register itself."""
    for name in app.config["PLUGINS"]:
        importlib.import_module(name).init_app(app)
    web.add_empty_home(app)
