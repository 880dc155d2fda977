"""Alembic: upgrade head gives exactly the models' schema; downgrade base empties it."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.cli import alembic_config
from core.db import Base, session_scope
from enrollment import links
from enrollment.models import Enrollment, EnrollmentStatus, Participant, Role


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


def test_manage_links_migration_keeps_every_mailed_link_working(app, make_offering):
    """Upgrading moves each enrollment's stored hash into a link; downgrading puts back the
    newest working link, and a random hash where every link was withdrawn. On SQLite the
    upgrade recreates ``enrollments``; the links (ON DELETE CASCADE) must survive that."""
    offering = make_offering()
    engine = app.extensions["kp_engine"]
    with session_scope(engine) as session:
        kept, gone = (Enrollment(
            offering_id=offering.id, status=EnrollmentStatus.CONFIRMED,
            participant=Participant(full_name=name, email=f"{name}@example.org", role=Role.LIS1),
        ) for name in ("a", "b"))
        session.add_all([kept, gone])
        session.flush()
        old, newest = links.issue_link(session, kept), links.issue_link(session, kept)
        withdrawn = links.issue_link(session, gone)
        links.withdraw_all_links(session, gone.id, datetime.now(UTC))
        ids = kept.id, gone.id
    url = app.config["DATABASE_URL"]
    engine.dispose()

    command.downgrade(alembic_config(url), "5e1f0c2a9b11")
    plain = sa.create_engine(url)
    with plain.connect() as conn:
        hashes = dict(conn.execute(sa.text(
            "SELECT id, manage_token_hash FROM enrollments")).all())
    assert hashes[ids[0]] == links.hash_token(newest)
    assert hashes[ids[1]] not in {links.hash_token(withdrawn), None}
    assert len(hashes[ids[1]]) == 64

    command.upgrade(alembic_config(url), "head")
    with plain.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT enrollment_id, token_hash, withdrawn_at FROM manage_links")).all()
    plain.dispose()
    assert sorted(rows) == sorted([(ids[0], links.hash_token(newest), None),
                                   (ids[1], hashes[ids[1]], None)])
    assert links.hash_token(old) not in {r[1] for r in rows}
    assert _differences(url) == []
