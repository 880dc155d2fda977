"""Alembic: upgrade head gives exactly the models' schema; downgrade base empties it."""

from datetime import UTC, datetime

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
