"""Command-line commands of the certificates plugin: issuing the certificates that have come due
(``flask certificates issue-due``, from a timer), the audit of certificates and attendance
against the time rules (``flask certificates audit``), and test signing keys for development
(``flask certificates keys create``)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
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


keys_cli = AppGroup("keys", help="Keys that sign certificates (docs/deployment.md).")
certificates_cli.add_command(keys_cli)


@keys_cli.command("create")
@click.option("--office", "county_slug", metavar="SLUG",
              help="A key of the office's own (signing-SLUG.p12), for a per-office set-up.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the key file exists.")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
def keys_create(county_slug: str | None, if_missing: bool, force: bool) -> None:
    """Make a TEST CA and a TEST signing key it certifies in instance/certificate-keys/, for
    development and tests only: a production start refuses them. Production uses the
    office's enterprise certificate (CERTIFICATE_SIGNING_KEY)."""
    from certificates.keys import make_test_keys, test_key_path

    folder = test_key_path(current_app).parent
    organisation, name = "Kursportal", "signing"
    if county_slug:
        county = get_session().scalar(sa.select(County).where(County.slug == county_slug))
        if county is None:
            raise click.BadParameter(f"no county {county_slug!r}", param_hint="--office")
        organisation, name = county.office(county.default_locale), f"signing-{county_slug}"
    path = folder / f"{name}.p12"
    if path.exists() and if_missing:
        click.echo(f"Test signing key exists: {path}")
        return
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; --force replaces it (certificates signed "
                                   "with it then no longer verify as ours).")
    made = make_test_keys(folder, organisation, name=name)
    click.echo(f"TEST signing key (not for production): {made}")
    click.echo(f"Its test CA's certificate: {Path(folder, name + '-ca.pem')}")
    if county_slug:
        click.echo("Per office: CERTIFICATE_SIGNING_KEY="
                   f"{folder / 'signing-{county}.p12'}")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(certificates_cli)
