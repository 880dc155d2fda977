"""Kursportal: the application factory. Nothing here runs at import time."""

from __future__ import annotations

import importlib
import os
import secrets
from pathlib import Path

from flask import Flask

from core import (
    api,
    audit_log,
    auth,
    caching,
    cli,
    db,
    errors,
    i18n,
    limits,
    logging,
    mail,
    offices,
    privacy,
    reminders,
    settings,
    signin,
    staff,
    staff_accounts,
    transaction,
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
    # Every setting, its default and its check: core/settings.py and docs/configuration.md.
    app.config.from_mapping(settings.defaults(settings.CORE))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        if os.environ.get("DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    settings.declare(app, settings.CORE)
    _load_secret_key(app)

    register_extensions(app)
    register_plugins(app)
    if test_config is None:
        settings.warn_unknown(app, os.environ)
    return app


def register_extensions(app: Flask) -> None:
    """Set up what every plugin shares."""
    logging.init_app(app)  # first, so its after-request hook sees the final response
    db.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    offices.init_app(app)
    caching.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    cli.init_app(app)
    mail.init_app(app)
    reminders.init_app(app)
    privacy.init_app(app)
    auth.init_app(app)
    staff.init_app(app)
    signin.init_app(app)
    audit_log.init_app(app)
    staff_accounts.init_app(app)
    api.init_app(app)
    transaction.init_app(app)  # last: its after-request hook runs first (commits at the edge)


def register_plugins(app: Flask) -> None:
    """Import each package named in ``PLUGINS`` and let it register itself."""
    for name in app.config["PLUGINS"]:
        importlib.import_module(name).init_app(app)
    web.add_empty_home(app)
