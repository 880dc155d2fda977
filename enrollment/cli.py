"""Command-line commands of the enrollment plugin: course kinds and the demo data set."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session, selectinload

from core.cli import load_counties
from core.db import get_session, utcnow
from enrollment.demo import seed_demo
from enrollment.models import CourseKind, KindRole, LearningObjective, Role

KINDS_FILE = Path(__file__).resolve().parent / "data" / "course_kinds.json"

kinds_cli = AppGroup("kinds", help="Course kinds and their learning objectives.")


def load_kinds(session: Session, path: Path = KINDS_FILE) -> int:
    """Create the course kinds that are missing, with their roles and objectives.

    Existing kinds keep their roles and objectives (data that staff edit); their names follow
    the data file, so a corrected name (the physiotherapy course that also invites chiropractic
    interns) reaches databases loaded before.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    existing = {
        k.code: k
        for k in session.scalars(sa.select(CourseKind).options(selectinload(CourseKind.roles)))
    }
    added = 0
    for row in data["kinds"]:
        if row["code"] in existing:
            kind = existing[row["code"]]
            kind.name_nn, kind.name_nb, kind.name_en = (row["name"][k] for k in ("nn", "nb", "en"))
            continue
        kind = CourseKind(
            code=row["code"],
            name_nn=row["name"]["nn"], name_nb=row["name"]["nb"], name_en=row["name"]["en"],
            completion_by_share=row["completion_by_share"], position=row["position"],
        )
        kind.roles = [KindRole(role=Role(r)) for r in row["roles"]]
        kind.objectives = [
            LearningObjective(
                code=o["code"], text_nn=o["text"]["nn"], text_nb=o["text"]["nb"],
                text_en=o["text"]["en"], position=i,
            )
            for i, o in enumerate(row["objectives"])
        ]
        session.add(kind)
        added += 1
    session.flush()
    return added


@kinds_cli.command("load")
def kinds_load() -> None:
    """Load the course kinds from the data file (only those missing)."""
    session = get_session()
    added = load_kinds(session)
    session.commit()
    click.echo(f"Course kinds: {added} added.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load counties, course kinds and a demo data set (idempotent)."""
    session = get_session()
    load_counties(session)
    load_kinds(session)
    created = seed_demo(session, utcnow())
    session.commit()
    click.echo(f"Demo data: {created} offerings created.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(kinds_cli)
    app.cli.add_command(seed_demo_command)
