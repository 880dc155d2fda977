"""Alembic: upgrade head gives exactly the models' schema; downgrade base empties it."""

from datetime import date, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.cli import alembic_config
from core.db import Base


def _differences(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_head_matches_models_and_downgrade_base_empties(app):
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    assert _differences(url) == []
    assert _tables(url) == set(Base.metadata.tables)

    command.downgrade(alembic_config(url), "base")
    assert _tables(url) == set()

    command.upgrade(alembic_config(url), "head")
    assert _differences(url) == []


def test_cohorts_migration_moves_interns_courses_to_their_turnus_year_and_back(app):
    """Upgrading gives each kind its scheme and puts the interns' courses in the turnus year
    running at their old LIS1 cohort; downgrading puts a cohort back on every offering."""
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    command.downgrade(config, "5e1f0c2a9b11")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        county = conn.execute(sa.text("SELECT id FROM counties ORDER BY id")).scalars().first()
        kinds = dict(conn.execute(sa.text("SELECT code, id FROM course_kinds")).all())
        for number, (code, cohort) in enumerate([("physio_intern_course", "2027-03-01"),
                                                 ("physio_intern_course", "2026-09-01"),
                                                 ("public_health", "2027-03-01")], start=1):
            conn.execute(sa.text(
                "INSERT INTO course_offerings (id, county_id, kind_id, cohort, title_nn, title_nb,"
                " title_en, description_nn, description_nb, description_en, venue, capacity,"
                " seats_taken, enroll_opens_at, enroll_closes_at, requires_approval,"
                " refund_eligible, min_share_percent, status, is_demo, signer_name,"
                " signer_title, created_at, updated_at) VALUES (:id, :county, :kind, :cohort,"
                " '', '', '', '', '', '', '', 10, 0, :t, :t, false, true, 75, 'draft', false,"
                " '', '', :t, :t)"),
                {"id": 900 + number, "county": county, "kind": kinds[code],
                 "cohort": date.fromisoformat(cohort), "t": datetime(2026, 1, 1, 12)})

    command.upgrade(config, "head")
    with engine.begin() as conn:
        schemes = dict(conn.execute(sa.text(
            "SELECT code, cohort_scheme FROM course_kinds")).all())
        assert schemes["physio_intern_course"] == "turnus_year"
        assert schemes["public_health"] == "municipal_start"
        cohorts = dict(conn.execute(sa.text(
            "SELECT id, cohort FROM course_offerings WHERE id > 900")).all())
        assert {k: str(v) for k, v in cohorts.items()} == {
            901: "2026-08-01", 902: "2026-08-01", 903: "2027-03-01"}
        conn.execute(sa.text("UPDATE course_offerings SET cohort = NULL WHERE id = 903"))

    command.downgrade(config, "5e1f0c2a9b11")
    with engine.begin() as conn:
        cohorts = dict(conn.execute(sa.text(
            "SELECT id, cohort FROM course_offerings WHERE id > 900")).all())
        # No sessions: the LIS1 cohort in service when the offering was created.
        assert {k: str(v) for k, v in cohorts.items()} == {
            901: "2026-09-01", 902: "2026-09-01", 903: "2025-09-01"}
        conn.execute(sa.text("DELETE FROM course_offerings WHERE id > 900"))
    engine.dispose()
    command.upgrade(config, "head")
    assert _differences(url) == []
