"""Command-line commands of the certificates plugin: issuing the certificates that have come due
(``flask certificates issue-due``, from a timer) and the audit of certificates and attendance
against the time rules (``flask certificates audit``)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from certificates import services
from certificates.codes import display_code
from certificates.rules import Breach, audit_rules
from core.db import get_session, utcnow
from core.models import County

certificates_cli = AppGroup("certificates", help="Certificates of attendance.")

_WHY = {
    Breach.ISSUED_EARLY: "issued before the end of the last session it counts",
    Breach.NOT_COMPLETED: "completion rule not met by ended sessions with present marks",
}


@certificates_cli.command("audit")
@click.option("--county", "county_slug", metavar="SLUG",
              help="Only this county's offerings (its slug, such as vestland).")
def certificates_audit(county_slug: str | None) -> None:
    """List every certificate (not revoked) that breaks the time and completion rules, and
    every attendance mark recorded before its session began. Changes nothing: revoke with a
    reason (or issue again) on the staff pages."""
    session = get_session()
    county_id = None
    if county_slug:
        county_id = session.scalar(sa.select(County.id).where(County.slug == county_slug))
        if county_id is None:
            raise click.BadParameter(f"no county {county_slug!r}", param_hint="--county")
    found = audit_rules(session, county_id)
    session.rollback()
    for c in found.certificates:
        why = "; ".join(_WHY[b] for b in c.breaches)
        click.echo(f"certificate {display_code(c.code)}\t{c.participant}\t{c.course}\t"
                   f"{c.county}\tissued {c.issued_at.isoformat()}"
                   f"{' by hand' if c.by_hand else ''}\t{why}")
    for m in found.early_marks:
        mark = "present" if m.present else "absent"
        click.echo(f"attendance enrollment {m.enrollment_id} session {m.session_id}\t"
                   f"{m.participant}\t{m.course}\t{m.county}\t{mark} marked "
                   f"{m.marked_at.isoformat()}, session began {m.starts_at.isoformat()}\t"
                   "recorded before the session began")
    click.echo(f"Certificates breaking the rules: {len(found.certificates)}")
    click.echo(f"Attendance marks recorded before their session began: "
               f"{len(found.early_marks)}")


@certificates_cli.command("issue-due")
def certificates_issue_due() -> None:
    """Issue a certificate to every confirmed participant who has met the completion rule by
    course days that have ended and has none yet (a day's marks count once it is over). Safe
    to run every few minutes, and on several servers at once: each offering is done in a
    transaction of its own, under its row lock, and what is issued is not issued again."""
    session = get_session()
    now = utcnow()
    offering_ids = services.offerings_with_due(session, now)
    session.rollback()
    issued = 0
    for offering_id in offering_ids:
        issued += len(services.issue_due(session, offering_id, now=now))
        session.commit()
    click.echo(f"Certificates issued: {issued}")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(certificates_cli)
