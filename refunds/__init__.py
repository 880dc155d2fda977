"""The refunds plugin: travel claims, receipts, rates, approval and payment export."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.settings import declare
from core.staff import register_nav
from enrollment.panels import (
    register_cancel_notice,
    register_manage_panel,
    register_overview_column,
    register_refund_rule,
)
from refunds import audit_words, cli, mail, subscribers
from refunds import overview as refunds_overview
from refunds import privacy as refunds_privacy
from refunds.eligibility import role_refunded
from refunds.routes import bp
from refunds.routes.claims import claim_panel, unsent_claim_notice
from refunds.settings import SETTINGS


def init_app(app: Flask) -> None:
    """Register the blueprint, the manage-page panel and cancel notice, the national
    overview's claims-paid column, the staff link, the
    subscribers of the claim events (mail, audit) and the CLI commands.

    Receipts are up to 10 MB each and several may be sent at once, so the upload route (only)
    accepts a request of ``REFUNDS_UPLOAD_MAX_FILES`` receipts and a little form data; every
    other route keeps the application's ``MAX_CONTENT_LENGTH``.
    """
    declare(app, SETTINGS)  # refunds/settings.py: the defaults, and a wrong one stops the start
    app.register_blueprint(bp)
    register_manage_panel(app, claim_panel)
    register_cancel_notice(app, unsent_claim_notice)
    register_refund_rule(app, role_refunded)
    register_overview_column(app, refunds_overview.COLUMN)
    register_nav(app, "refunds.show_queue", _l("Travel claims"))
    register_nav(app, "refunds.list_rates", _l("Travel rates"))
    mail.init_app(app)
    subscribers.init_app(app)
    audit_words.init_app(app)
    refunds_privacy.register(app)
    cli.init_app(app)
