"""Alembic environment: the metadata of every plugin's tables, batch mode for SQLite."""

from alembic import context

import core.audit  # noqa: F401
import core.auth  # noqa: F401
import core.limits  # noqa: F401
import core.mail  # noqa: F401
import core.models  # noqa: F401  (registers the tables on Base.metadata)
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
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _sqlite_pragma(connection, statement: str) -> None:
    """Run a PRAGMA on the driver's connection, before SQLAlchemy begins a transaction."""
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(statement)
    cursor.close()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copy, drop and rename; with foreign keys enforced,
        # dropping a table that rows of another refer to fails, so Alembic's batch docs turn
        # enforcement off. SQLite ignores this pragma inside a transaction: it is set before the
        # migrations' transaction begins, and every reference is checked before it ends.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
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
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
