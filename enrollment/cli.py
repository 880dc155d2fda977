"""Command-line commands of the enrollment plugin: course kinds, the demo data set, and the
audit of certificates and attendance against the time rules."""

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
from core.models import County
from enrollment.certificate_rules import Breach, audit_rules
from enrollment.certificate_service import display_code
from enrollment.demo import seed_demo
from enrollment.models import CohortScheme, CourseKind, KindRole, LearningObjective, Role

KINDS_FILE = Path(__file__).resolve().parent / "data" / "course_kinds.json"

kinds_cli = AppGroup("kinds", help="Course kinds and their learning objectives.")
certificates_cli = AppGroup("certificates", help="Certificates of attendance.")

_WHY = {
    Breach.ISSUED_EARLY: "issued before the end of the last session it counts",
    Breach.NOT_COMPLETED: "completion rule not met by ended sessions with present marks",
}


def load_kinds(session: Session, path: Path = KINDS_FILE) -> int:
    """Create the course kinds that are missing, with their roles and objectives.

    Existing kinds are left alone: their objectives are data that staff edit.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    existing = {
        k.code: k
        for k in session.scalars(sa.select(CourseKind).options(selectinload(CourseKind.roles)))
    }
    added = 0
    for row in data["kinds"]:
        if row["code"] in existing:
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
    apply_cohort_rules(session, data["kinds"])
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


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(kinds_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(seed_demo_command)
