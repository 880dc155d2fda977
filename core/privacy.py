"""Personal data across plugins: a registry of providers, the per-person export, anonymisation,
the retention purge, the ``flask privacy purge`` command, and the sections plugins add to the
privacy notice (``/privacy``, served by ``core.web``).

Core knows no plugin's tables. Each plugin registers a ``Provider`` at ``init_app``: what it
holds about a person (``export``), how it anonymises that (``anonymise``), what the law makes it
keep for longer (``holds``, e.g. paid travel claims under the bookkeeping rules) and, for the
plugin that owns the people, who is due for the purge (``due``). A person is identified by one
integer: the id of enrollment's ``participants`` row. An app built with ``PLUGINS =
["enrollment"]`` simply has one provider.

Anonymising flushes and never commits; the command and the views commit. A dry run does exactly
what the real run does and rolls it back, so what it prints is what a real run would do.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from core import audit
from core.db import get_session, utcnow
from core.i18n import OSLO

EXPORT_FORMAT = "kursportal-personal-data/1"
PURGE_BATCH = 100
_KEY = "core.privacy_providers"
_SECTIONS_KEY = "core.privacy_notice_sections"

privacy_cli = AppGroup("privacy", help="Personal data: retention and purge.")


@dataclass(frozen=True)
class Retention:
    """How long details are kept, as configured, seen from the day ``as_of``."""

    as_of: date
    months: int = 12
    paid_claim_years: int = 5

    @property
    def cutoff(self) -> datetime:
        """Courses that ended before this moment (UTC) are due for the purge."""
        total = self.as_of.year * 12 + self.as_of.month - 1 - self.months
        year, month = divmod(total, 12)
        day = min(self.as_of.day, _days_in_month(year, month + 1))
        local = datetime.combine(date(year, month + 1, day), time(), tzinfo=OSLO)
        return local.astimezone(UTC)

    @property
    def cutoff_day(self) -> date:
        """The day (in Oslo) the cutoff falls on."""
        return self.cutoff.astimezone(OSLO).date()


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


@dataclass(frozen=True)
class Hold:
    """Part of a person's data the law keeps past the usual retention.

    ``until`` None means "until something happens" (an approved claim not yet paid).
    ``reason`` is a lazy translated sentence for pages; ``ref`` a plain reference for the CLI.
    """

    ref: str
    until: date | None
    reason: object


@dataclass(frozen=True)
class Anonymisation:
    """What one anonymisation of one person is to do."""

    now: datetime
    retention: Retention
    holds: tuple[Hold, ...] = ()
    # A confirmed request for erasure: the name on certificates goes too.
    erasure: bool = False
    actor: object = None

    @property
    def held(self) -> bool:
        """Whether the law keeps some of the person's data (and so their name) for now."""
        return bool(self.holds)

    @property
    def mail_cutoff(self) -> datetime:
        """Mail to the person queued before this moment is deleted."""
        return self.now if self.erasure else self.retention.cutoff


@dataclass(frozen=True)
class Provider:
    """One plugin's personal data: hooks the purge, the export and erasure call."""

    name: str
    export: Callable[[Session, int], dict[str, list[dict]]]
    anonymise: Callable[[Session, int, Anonymisation], Counter]
    holds: Callable[[Session, int, Retention], list[Hold]] | None = None
    due: Callable[[Session, Retention], list[int]] | None = None


@dataclass
class PersonResult:
    """What anonymising one person changed (rows per table) and what the law kept."""

    person_id: int
    counts: Counter = field(default_factory=Counter)
    holds: tuple[Hold, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything was anonymised or deleted."""
        return any(self.counts.values())


def register_provider(app: Flask, provider: Provider) -> None:
    """Add ``provider`` to ``app``'s personal-data registry (plugins call this at init)."""
    registered = app.extensions.setdefault(_KEY, [])
    if all(p.name != provider.name for p in registered):
        registered.append(provider)


def providers() -> list[Provider]:
    """The providers registered on the current application."""
    return current_app.extensions.get(_KEY, [])


def register_notice_section(app: Flask, template: str) -> None:
    """Add a template to the privacy notice (plugins call this at init): it is included, with
    the page's context, between "Who is responsible" and "Your rights", in registration
    order."""
    sections = app.extensions.setdefault(_SECTIONS_KEY, [])
    if template not in sections:
        sections.append(template)


def notice_sections() -> list[str]:
    """The templates plugins added to the privacy notice of the current application."""
    return current_app.extensions.get(_SECTIONS_KEY, [])


def retention_from_config(config, as_of: date) -> Retention:
    """The configured retention (``PRIVACY_RETENTION_MONTHS``,
    ``PRIVACY_PAID_CLAIM_RETENTION_YEARS``) seen from ``as_of``."""
    return Retention(as_of=as_of, months=int(config["PRIVACY_RETENTION_MONTHS"]),
                     paid_claim_years=int(config["PRIVACY_PAID_CLAIM_RETENTION_YEARS"]))


def today() -> date:
    """Today in Oslo."""
    return utcnow().astimezone(OSLO).date()


def row_dict(obj, exclude: Iterable[str] = ()) -> dict:
    """Every column of an ORM object as JSON-friendly values, except those named."""
    skip = set(exclude)
    names = [attr.key for attr in sa.inspect(obj).mapper.column_attrs if attr.key not in skip]
    # Decimals (kilometres, percentages) as text, so no precision is lost to a float.
    return {k: str(v) if isinstance(v, Decimal) else v
            for k, v in audit.snapshot(obj, names).items()}


# --- the operations ----------------------------------------------------------------------------


def export_person(session: Session, person_id: int, now: datetime) -> dict:
    """Everything every provider holds about the person, as one JSON-friendly document."""
    tables: dict[str, list[dict]] = {}
    for provider in providers():
        for table, rows in provider.export(session, person_id).items():
            tables.setdefault(table, []).extend(rows)
    for rows in tables.values():
        rows.sort(key=lambda row: (row.get("id") is None, row.get("id") or 0, str(row)))
    return {"format": EXPORT_FORMAT, "generated_at": now.isoformat(), "person_id": person_id,
            "tables": dict(sorted(tables.items()))}


def holds_for(session: Session, person_id: int, retention: Retention) -> tuple[Hold, ...]:
    """What the law keeps of the person's data on ``retention.as_of``."""
    found: list[Hold] = []
    for provider in providers():
        if provider.holds is not None:
            found.extend(provider.holds(session, person_id, retention))
    return tuple(found)


def anonymise_person(
    session: Session, person_id: int, *, now: datetime, retention: Retention,
    erasure: bool = False, actor=None,
) -> PersonResult:
    """Anonymise one person in every plugin, keeping what a hold keeps; flushes only."""
    holds = holds_for(session, person_id, retention)
    plan = Anonymisation(now=now, retention=retention, holds=holds, erasure=erasure,
                         actor=actor)
    result = PersonResult(person_id, holds=holds)
    # The people's own plugin goes last: the others find the person's rows through it.
    for provider in sorted(providers(), key=lambda p: p.due is not None):
        result.counts.update(provider.anonymise(session, person_id, plan))
    session.flush()
    return result


def due_people(session: Session, retention: Retention) -> list[int]:
    """The people whose courses ended before the retention cutoff and who are not yet fully
    anonymised, in id order."""
    found: set[int] = set()
    for provider in providers():
        if provider.due is not None:
            found.update(provider.due(session, retention))
    return sorted(found)


# --- the command -------------------------------------------------------------------------------


def _summary(counts: Counter) -> str:
    return ", ".join(f"{name} {number}" for name, number in sorted(counts.items()) if number)


def _kept(holds: Iterable[Hold]) -> str:
    return "; ".join(f"{h.ref} kept until {h.until.isoformat() if h.until else 'paid'}"
                     for h in holds)


def _purge_batches(session: Session, people: list[int], retention: Retention, now: datetime,
                   dry_run: bool, bar) -> list[PersonResult]:
    results = []
    for start in range(0, len(people), PURGE_BATCH):
        for person_id in people[start:start + PURGE_BATCH]:
            results.append(anonymise_person(session, person_id, now=now, retention=retention))
            bar.update(1)
        # One transaction per batch keeps locks short on a long run.
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return results


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Print what would be purged; change nothing.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Purge as if today were this date (YYYY-MM-DD).")
def purge_command(dry_run: bool, as_of: datetime | None) -> None:
    """Anonymise participants whose retention period has passed, and delete their receipts."""
    session = get_session()
    retention = retention_from_config(current_app.config,
                                      as_of.date() if as_of else today())
    people = due_people(session, retention)
    session.rollback()
    click.echo(f"Courses that ended before {retention.cutoff_day.isoformat()} are due "
               f"({retention.months} months; paid claims {retention.paid_claim_years} years "
               f"after the year of payment). {len(people)} participant(s) to check.")
    with click.progressbar(length=len(people), label="Purging", file=sys.stderr,
                           show_pos=True) as bar:
        results = _purge_batches(session, people, retention, utcnow(), dry_run, bar)
    verb = "Would anonymise" if dry_run else "Anonymised"
    total, purged, kept = Counter(), 0, 0
    for result in results:
        if result.changed:
            purged += 1
            total.update(result.counts)
            line = f"{verb} participant {result.person_id}: {_summary(result.counts)}"
            click.echo(line + (f"; {_kept(result.holds)}" if result.holds else ""))
        elif result.holds:
            kept += 1
            click.echo(f"Kept participant {result.person_id}: {_kept(result.holds)}")
    done = "would be anonymised" if dry_run else "anonymised"
    click.echo(f"{purged} participant(s) {done} ({_summary(total) or 'nothing'}); "
               f"{kept} kept by law.")
    if dry_run:
        click.echo("Dry run: nothing was changed.")


def init_app(app: Flask) -> None:
    """Register the ``privacy`` commands (the retention settings are in core.settings)."""
    app.cli.add_command(privacy_cli)
