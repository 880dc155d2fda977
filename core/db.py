"""Database engine, the per-request session and the declarative base.

A leaf module: it imports nothing of the application, so every other module may import it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from core import collation

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Base(DeclarativeBase):
    """Declarative base of every table, with a naming convention Alembic can rely on."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def enum_column(cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A portable enum column stored as its value (a CHECK constraint, not a native type)."""
    return sa.Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        create_constraint=True,
        name=cls.__name__.lower(),
    )


# The largest id a row can have (an integer column, 32 bits on PostgreSQL): a larger number in
# an address names nothing, and PostgreSQL refuses a query with it.
LARGEST_ID = 2**31 - 1

def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone, so normalising on the way in and out gives both databases the
    same behaviour.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, Norwegian collation, and transactions that really begin when
    SQLAlchemy says so.

    Python's sqlite3 module starts transactions lazily, so two writers could both read the old
    seat count. Following SQLAlchemy's pysqlite recipe we take over BEGIN ourselves and, for a
    session that may write, emit BEGIN IMMEDIATE so the write lock is held from the first read.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        collation.register_sqlite(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("kp_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with the settings each database needs.

    ``hide_parameters`` keeps the bound values (names, e-mail addresses) out of the text of
    database errors, which end up in the server log.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                              hide_parameters=True)
    # Lists sort with the server's ICU collation: without it, say so at the first connection
    # rather than fail on the first ORDER BY.
    event.listen(engine, "first_connect",
                 lambda dbapi_connection, _record: collation.check_postgresql(dbapi_connection))
    return engine


def get_engine(app: Flask | None = None) -> Engine:
    """Return the engine of the current (or given) application."""
    return (app or current_app).extensions["kp_engine"]


def new_session(engine: Engine, *, write: bool = True) -> Session:
    """Open a session; ``write`` sessions take SQLite's write lock at their first statement."""
    bind = engine.execution_options(kp_write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


def get_session() -> Session:
    """Return the session of this request or CLI command, opening it on first use.

    A GET request gets a read session; any other method, and any code outside a request, a
    session that may write.
    """
    if "db_session" not in g:
        write = not has_request_context() or request.method not in SAFE_METHODS
        g.db_session = new_session(get_engine(), write=write)
    return g.db_session


def end_transaction(session: Session) -> None:
    """End the session's transaction before slow work outside the database (a sandboxed
    parse), so that no lock is held meanwhile: on SQLite a write session holds the database's
    write lock from its first statement. Nothing may be pending; the objects loaded stay
    usable, and the next statement begins a new transaction."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_transaction with unsaved changes")
    session.commit()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A write session that commits on success and rolls back on error (for workers, tests)."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Anything not committed by the view is discarded: the edge commits explicitly.
        session.close()


def init_app(app: Flask) -> None:
    """Create the engine from ``DATABASE_URL`` and close the session after each request."""
    app.extensions["kp_engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)
