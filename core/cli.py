"""Command-line commands every deployment has: migrations, the county offices and the mail
outbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from core.db import get_engine, get_session, new_session, session_scope, utcnow
from core.mail import (
    MailNotConfigured,
    MailStatus,
    OutboxMessage,
    requeue_failed,
    send_pending,
)
from core.models import County, Municipality, Region

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
COUNTIES_FILE = Path(__file__).resolve().parent / "data" / "counties.json"
MUNICIPALITIES_FILE = Path(__file__).resolve().parent / "data" / "municipalities.json"

db_cli = AppGroup("db", help="Database migrations (Alembic).")
counties_cli = AppGroup("counties", help="The county governor offices.")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for our ``migrations/`` folder and ``url``."""
    # Imported here, not at the top: Alembic is about 10 MB that every web worker would
    # otherwise hold (the app loads this module to register the commands); only the
    # migration commands use it.
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _alembic_command():
    """``alembic.command``, imported when a migration command runs (see ``alembic_config``)."""
    from alembic import command

    return command


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _alembic_command().upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database upgraded to {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` empties the database)."""
    _alembic_command().downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database downgraded to {revision}.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def revision(message: str) -> None:
    """Autogenerate a new migration from the models."""
    _alembic_command().revision(
        alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=True
    )


def load_counties(session, path: Path = COUNTIES_FILE,
                  municipalities: Path = MUNICIPALITIES_FILE) -> tuple[int, int]:
    """Insert or update the offices from ``path``, then their municipalities
    (``load_municipalities``); returns the offices (added, updated). Idempotent."""
    data = json.loads(path.read_text(encoding="utf-8"))
    existing = {c.slug: c for c in session.scalars(sa.select(County))}
    added = updated = 0
    for row in data["counties"]:
        values = {
            "name_nn": row["name"]["nn"], "name_nb": row["name"]["nb"],
            "name_en": row["name"]["en"], "office_nn": row["office"]["nn"],
            "office_nb": row["office"]["nb"], "office_en": row["office"]["en"],
            "region": Region(row["region"]), "email": row["email"],
            "default_locale": row["default_locale"],
        }
        county = existing.get(row["slug"])
        if county is None:
            session.add(County(slug=row["slug"], **values))
            added += 1
        elif any(getattr(county, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(county, k, v)
            updated += 1
    session.flush()
    load_municipalities(session, municipalities)
    return added, updated


def load_municipalities(session, path: Path = MUNICIPALITIES_FILE) -> tuple[int, int, int]:
    """Insert or update the municipalities from ``path`` under the office covering each, and
    mark retired those the file no longer lists; returns (added, updated, retired).
    Idempotent: a second run changes nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    county_ids = dict(session.execute(sa.select(County.slug, County.id)).all())
    existing = {m.number: m for m in session.scalars(sa.select(Municipality))}
    new_rows, updated = [], 0
    for row in data["municipalities"]:
        values = {"name": row["name"], "county_id": county_ids[row["county"]], "retired": False}
        municipality = existing.pop(row["number"], None)
        if municipality is None:
            new_rows.append({"number": row["number"], **values})
        elif any(getattr(municipality, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(municipality, k, v)
            updated += 1
    if new_rows:  # one statement: the first load adds all 357
        session.execute(sa.insert(Municipality), new_rows)
    retired = 0
    for municipality in existing.values():
        if not municipality.retired:
            municipality.retired = True
            retired += 1
    session.flush()
    return len(new_rows), updated, retired


@counties_cli.command("load")
def counties_load() -> None:
    """Load the ten county governor offices from the data file."""
    session = get_session()
    added, updated = load_counties(session)
    municipalities = session.scalar(sa.select(sa.func.count()).select_from(Municipality)
                                    .where(Municipality.retired.is_(False)))
    session.commit()
    click.echo(f"Counties: {added} added, {updated} updated; {municipalities} municipalities.")


mail_cli = AppGroup("mail", help="The mail outbox.")


@mail_cli.command("send")
@click.option("--limit", default=100, show_default=True, help="Most messages to send.")
def send_command(limit: int) -> None:
    """Send the pending mail that is due, once."""
    try:
        report = send_pending(get_engine(), current_app.config, limit=limit)
    except MailNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Mail: {report.sent} sent, {report.failed} failed, {report.deferred} deferred.")


@mail_cli.command("status")
def status_command() -> None:
    """Show how many messages are pending, sent and failed."""
    with new_session(get_engine(), write=False) as session:
        counts = dict(
            session.execute(
                sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        due = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == MailStatus.PENDING,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
        )
    for status in MailStatus:
        click.echo(f"{status.value}: {counts.get(status, 0)}")
    click.echo(f"due now: {due}")


@mail_cli.command("retry")
def retry_command() -> None:
    """Put failed messages back in the queue with a fresh set of attempts."""
    with session_scope(get_engine()) as session:
        count = requeue_failed(session)
    click.echo(f"Mail: {count} failed messages queued again.")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(db_cli)
    app.cli.add_command(counties_cli)
    app.cli.add_command(mail_cli)
