"""Alembic environment: the metadata of every plugin's tables, batch mode for SQLite."""

from alembic import context

import certificates.models  # noqa: F401
import core.api.tokens  # noqa: F401
import core.audit  # noqa: F401
import core.auth  # noqa: F401
import core.limits  # noqa: F401
import core.mail  # noqa: F401
import core.models  # noqa: F401  (registers the tables on Base.metadata)
import core.reminders  # noqa: F401
import core.staff_sessions  # noqa: F401
import core.throttle  # noqa: F401
import core.two_factor  # noqa: F401
import enrollment.models  # noqa: F401
import refunds.models  # noqa: F401
from core.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the configured database."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    # A write connection: on SQLite the whole run holds the write lock from its BEGIN.
    with engine.connect().execution_options(kp_write=True) as connection:
        _run(connection)
    engine.dispose()


def _foreign_keys(connection, value: str) -> None:
    """Set ``PRAGMA foreign_keys`` on the driver's connection and check that it took.

    SQLite silently ignores this pragma inside a transaction, so it is run on the driver's
    cursor (SQLAlchemy would begin one first) and read back.
    """
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={value}")
        now = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
    finally:
        cursor.close()
    if now != (1 if value == "ON" else 0):
        raise RuntimeError(f"PRAGMA foreign_keys={value} did not take: the connection is inside "
                           "a transaction; run the migrations on a connection outside one")


def _run(connection) -> None:
    """Run the migrations on ``connection``.

    SQLite: batch mode rebuilds a table by copy, drop and rename, and with foreign keys
    enforced the drop deletes (ON DELETE CASCADE) or refuses because of the rows that refer to
    it; so, as Alembic's batch documentation says, foreign keys are off while migrations run,
    set before the transaction begins. The whole run is one transaction (SQLite's DDL is
    transactional, though Alembic assumes otherwise and would commit each migration alone),
    and ``PRAGMA foreign_key_check`` runs before its commit: a migration that leaves a
    reference dangling is rolled back with every migration of the run, and the database stays
    at the revision it had. Foreign keys are on again once the transaction has ended.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        if connection.in_transaction():
            raise RuntimeError("run the migrations on a connection outside a transaction")
        _foreign_keys(connection, "OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            transactional_ddl=True if sqlite else None,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            _foreign_keys(connection, "ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
