"""The enrollment plugin: catalog, course pages, enrollment and attendance."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.privacy import register_notice_section
from core.settings import declare
from core.staff import register_nav, register_staff_home
from core.web import register_home
from enrollment import (
    audit,
    audit_words,
    cli,
    mail,
    reminders,
    routes,
    template_globals,
)
from enrollment.services import privacy, roster_privacy
from enrollment.settings import SETTINGS


def init_app(app: Flask) -> None:
    """Register the blueprint (the catalog is the front page), CLI commands, the lost-link job,
    the expiry of waiting-list offers and the course reminder (``flask reminders send``),
    the mail and audit subscribers of the plugin's events and the renderers of its mail, the
    staff links and enrollment's part of the privacy notice and of the personal data."""
    declare(app, SETTINGS)  # enrollment/settings.py: the defaults, and a wrong one stops the start
    app.register_blueprint(routes.bp)
    template_globals.register(app)
    register_home(app, "enrollment.show_catalog")
    register_staff_home(app, "enrollment.show_dashboard")
    register_notice_section(app, "enrollment/privacy_notice.html")
    mail.init_app(app)
    reminders.init_app(app)
    audit.init_app(app)
    audit_words.init_app(app)
    cli.init_app(app)
    register_nav(app, "enrollment.show_dashboard", _l("Dashboard"))
    register_nav(app, "enrollment.search_participants", _l("Find participant"))
    register_nav(app, "enrollment.list_staff_offerings", _l("Courses"))
    register_nav(app, "enrollment.list_rosters", _l("Cohort rosters"))
    register_nav(app, "enrollment.list_erasure_requests", _l("Requests for erasure"))
    register_nav(app, "enrollment.show_overview", _l("National overview"), admin_only=True)
    privacy.register(app)
    roster_privacy.register(app)
