"""Command-line commands of the refunds plugin: loading the rate schemes from the data file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.orm import Session, selectinload

from core.db import get_session
from refunds.models import PassengerMode, Rate, RateKind, RateScheme

RATES_FILE = Path(__file__).resolve().parent / "data" / "rate_schemes.json"

rates_cli = AppGroup("rates", help="Rate schemes for travel refunds.")


@dataclass(frozen=True)
class LoadReport:
    """What ``load_rate_schemes`` changed."""

    schemes_added: int = 0
    rates_added: int = 0
    periods_closed: int = 0


def _source_note(row: dict, compiled: str) -> str:
    lines = [f"Compiled {compiled}."]
    lines += [f"- {s['what']}: {s['title']} <{s['url']}>"
              + (f" (checked {s['checked']})" if s.get("checked") else "")
              for s in row.get("sources", [])]
    lines += [f"Note: {note}" for note in row.get("notes", [])]
    return "\n".join(lines)


def _optional_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_rate_schemes(session: Session, path: Path = RATES_FILE) -> LoadReport:
    """Add the schemes and rates of ``path`` that are missing. Idempotent.

    A scheme's settings and its existing rates are data an administrator edits, so they are
    left alone; the changes made to an existing rate are closing a period that is open in
    the database when the file gives it an end (a new year's rate was added to the file), and
    giving a rate loaded before sources were recorded its source and "to be confirmed" mark.
    The scheme's source note follows the file, and its allowance conditions are filled in
    when it has none.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    existing = {
        s.code: s
        for s in session.scalars(sa.select(RateScheme).options(selectinload(RateScheme.rates)))
    }
    has_default = any(s.is_default for s in existing.values())
    schemes_added = rates_added = periods_closed = 0
    for row in data["schemes"]:
        scheme = existing.get(row["code"])
        if scheme is None:
            scheme = RateScheme(
                code=row["code"], name=row["name"], description=row.get("description", ""),
                source_note=_source_note(row, data.get("compiled", "")),
                is_default=bool(row.get("is_default")) and not has_default,
                allowances_enabled=bool(row.get("allowances_enabled")),
                passenger_mode=PassengerMode(row.get("passenger_mode", "per_passenger")),
                receipt_rules=row.get("receipt_rules", {}),
                journey_days_before=int(row.get("journey_days_before", 1)),
                journey_days_after=int(row.get("journey_days_after", 1)),
                allowance_rules=row.get("allowance_rules", {}),
            )
            scheme.rates = []
            session.add(scheme)
            has_default = has_default or scheme.is_default
            schemes_added += 1
        else:
            scheme.source_note = _source_note(row, data.get("compiled", ""))
            if not scheme.allowance_rules and row.get("allowance_rules"):
                scheme.allowance_rules = row["allowance_rules"]
        stored = {(r.kind, r.valid_from): r for r in scheme.rates}
        for item in row["rates"]:
            kind = RateKind(item["kind"])
            valid_from = date.fromisoformat(item["valid_from"])
            valid_to = _optional_date(item.get("valid_to"))
            rate = stored.get((kind, valid_from))
            if rate is None:
                percent = item.get("percent")
                scheme.rates.append(Rate(
                    kind=kind, amount_ore=int(item.get("amount_ore", 0)),
                    percent=Decimal(percent) if percent is not None else None,
                    valid_from=valid_from, valid_to=valid_to, note=item.get("note", ""),
                    source_url=item.get("source", ""),
                    to_be_confirmed=bool(item.get("to_be_confirmed")),
                ))
                rates_added += 1
                continue
            if rate.valid_to is None and valid_to is not None:
                rate.valid_to = valid_to
                periods_closed += 1
            if not rate.source_url and item.get("source"):
                rate.source_url = item["source"]
                rate.to_be_confirmed = bool(item.get("to_be_confirmed"))
    session.flush()
    return LoadReport(schemes_added, rates_added, periods_closed)


@rates_cli.command("load")
def rates_load() -> None:
    """Load the rate schemes from the data file (only what is missing)."""
    session = get_session()
    report = load_rate_schemes(session)
    session.commit()
    click.echo(
        f"Rate schemes: {report.schemes_added} added; rates: {report.rates_added} added, "
        f"{report.periods_closed} periods closed."
    )


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(rates_cli)
