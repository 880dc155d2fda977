"""Alembic: upgrade head gives exactly the models' schema; downgrade base empties it."""

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
