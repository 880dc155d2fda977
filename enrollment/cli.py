"""Command-line commands of the enrollment plugin: course kinds and the demo data set."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session, selectinload

from core.cli import load_counties
from core.db import get_session, utcnow
from enrollment.demo import seed_demo
from enrollment.models import CohortScheme, CourseKind, KindRole, LearningObjective, Role

KINDS_FILE = Path(__file__).resolve().parent / "data" / "course_kinds.json"

kinds_cli = AppGroup("kinds", help="Course kinds and their learning objectives.")


def load_kinds(session: Session, path: Path = KINDS_FILE) -> int:
    """Create the course kinds that are missing, with their roles, and load the learning
    objectives of every kind (``load_objectives``). Returns the number of kinds added.

    Existing kinds keep their roles (data that staff edit); their names follow
    the data file, so a corrected name (the physiotherapy course that also invites chiropractic
    interns) reaches databases loaded before.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    existing = {
        k.code: k
        for k in session.scalars(sa.select(CourseKind).options(
            selectinload(CourseKind.roles), selectinload(CourseKind.objectives)))
    }
    added = 0
    for row in data["kinds"]:
        kind = existing.get(row["code"])
        if kind is None:
            kind = CourseKind(
                code=row["code"],
                name_nn=row["name"]["nn"], name_nb=row["name"]["nb"], name_en=row["name"]["en"],
                completion_by_share=row["completion_by_share"], position=row["position"],
            )
            kind.roles = [KindRole(role=Role(r)) for r in row["roles"]]
            kind.objectives = []
            session.add(kind)
            added += 1
        else:
            kind.name_nn, kind.name_nb, kind.name_en = (row["name"][k] for k in ("nn", "nb", "en"))
        load_objectives(kind, row["objectives"], data.get("_retired_objective_codes", ()))
    session.flush()
    apply_cohort_rules(session, data["kinds"])
    apply_mandatory_rules(session, data["kinds"])
    return added


def apply_cohort_rules(session: Session, rows: list[dict]) -> None:
    """Set every kind's cohort scheme from the data file, for existing kinds too: the scheme
    is a rule of the programmes (Helsedirektoratet's start dates), not something staff edit."""
    rules = {row["code"]: row["cohort"] for row in rows}
    for kind in session.scalars(sa.select(CourseKind)):
        rule = rules.get(kind.code)
        if rule is not None:
            kind.cohort_scheme = CohortScheme(rule["scheme"])
            kind.cohort_required = rule["required"]
    session.flush()


def apply_mandatory_rules(session: Session, rows: list[dict]) -> None:
    """Mark, for existing kinds too, the roles each kind is mandatory for (``mandatory_for``
    in the data file): what a roster's completion table lists per person. A role the office
    removed from a kind stays removed; the rule only marks the roles the kind admits."""
    rules = {row["code"]: set(row.get("mandatory_for", ())) for row in rows}
    for kind in session.scalars(sa.select(CourseKind).options(selectinload(CourseKind.roles))):
        wanted = rules.get(kind.code, set())
        for kind_role in kind.roles:
            kind_role.mandatory = kind_role.role.value in wanted
    session.flush()


def _objective_values(row: dict) -> dict:
    """The columns of a learning objective from its entry in the data file."""
    version = row.get("version")
    return {
        "text_nn": row["text"]["nn"], "text_nb": row["text"]["nb"], "text_en": row["text"]["en"],
        "official_number": row.get("number") or None,
        "confirmed": bool(row.get("confirmed")) and bool(row.get("number")),
        "source_url": row.get("source", ""),
        "version_date": date.fromisoformat(version) if version else None,
        "translated": " ".join(sorted(row.get("translated", ()))),
    }


def load_objectives(kind: CourseKind, rows: list[dict], retired: Iterable[str] = ()) -> None:
    """Bring the kind's learning objectives in line with the data file, idempotently.

    An objective missing from the kind is added at the end; one the office has not confirmed
    is replaced when the file brings a confirmed version of it (an official number and
    wording), and otherwise kept as staff left it; a retired code (the invented starting set
    of earlier versions) is removed unless an office confirmed it. Confirmed objectives are
    never overwritten: they are what an office checked against the official source.
    """
    by_code = {o.code: o for o in kind.objectives}
    for code in retired:
        objective = by_code.pop(code, None)
        if objective is not None and not objective.confirmed:
            kind.objectives.remove(objective)
    position = max((o.position for o in kind.objectives), default=-1) + 1
    for row in rows:
        values = _objective_values(row)
        objective = by_code.get(row["code"])
        if objective is None:
            kind.objectives.append(LearningObjective(code=row["code"], position=position,
                                                     **values))
            position += 1
        elif values["confirmed"] and not objective.confirmed:
            for name, value in values.items():
                setattr(objective, name, value)


@kinds_cli.command("load")
def kinds_load() -> None:
    """Load the course kinds from the data file (only those missing)."""
    session = get_session()
    added = load_kinds(session)
    unconfirmed = session.scalar(sa.select(sa.func.count()).select_from(LearningObjective)
                                 .where(LearningObjective.confirmed.is_(False)))
    session.commit()
    click.echo(f"Course kinds: {added} added.")
    click.echo(f"Learning objectives to be confirmed by the office: {unconfirmed}.")


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
