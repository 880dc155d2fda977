"""The certificates plugin: certificates of attendance as PDFs, issued by the completion rule or
by hand, revoked, and verified in public by their code. Depends on enrollment, as refunds does;
enrollment shows its parts through the hooks of ``enrollment.panels``."""

from flask import Flask

from certificates import audit_words, cli, demo, panels, privacy, subscribers
from certificates.routes import bp
from certificates.settings import SETTINGS
from core.settings import declare
from enrollment.panels import (
    register_completion_facts,
    register_demo_step,
    register_manage_panel,
    register_roster_part,
)


def init_app(app: Flask) -> None:
    """Register the blueprint, the manage page's certificate section, the participant list's
    print link and actions, the cohort rosters' "certificate issued", the demo certificates,
    certificates' personal data, the subscribers of certificate and attendance events, and
    the CLI."""
    declare(app, SETTINGS)  # certificates/settings.py: the defaults, and a wrong one stops it
    signing = (app.config.get("CERTIFICATE_SIGNING_KEY")
               or app.config.get("CERTIFICATE_TRUST_ROOTS"))
    if signing and not (app.debug or app.testing):
        from certificates.keys import check_for_production  # pyHanko: see printing.py

        check_for_production(app)
    app.register_blueprint(bp)
    register_manage_panel(app, panels.manage_section)
    register_roster_part(app, panels.roster_part)
    register_completion_facts(app, panels.completion_facts)
    register_demo_step(app, demo.issue_demo_certificates)
    privacy.register(app)
    subscribers.init_app(app)
    audit_words.init_app(app)
    cli.init_app(app)
